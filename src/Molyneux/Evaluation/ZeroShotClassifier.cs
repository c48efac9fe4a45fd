using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>How the prompts of one class (one per template, or one per descriptor) are combined into its score.</summary>
public enum TemplateEnsemble
{
    /// <summary>open_clip's zero-shot classifier: normalize each prompt embedding, average them, renormalize; the class
    /// score is the cosine between the image and that mean direction.</summary>
    Mean,

    /// <summary>ASIF-style: keep every normalized prompt embedding; the class score is the largest cosine between the
    /// image and any of the class's prompts.</summary>
    Max,
}

/// <summary>A zero-shot classifier built from text alone: prompts per class are encoded by the text encoder and
/// combined per <see cref="TemplateEnsemble"/>. <see cref="Predict"/> scores image embeddings against every class:
/// cosine similarity, times the logit scale when one is given (which changes no ranking, only the scale of the
/// scores, e.g. for a softmax).</summary>
public sealed class ZeroShotClassifier : IDisposable
{
    // Unit prompt embeddings [P, E], grouped by class: class c owns rows offsets[c] .. offsets[c + 1] - 1.
    private readonly Tensor prompts;
    private readonly int[] offsets;
    // Mean ensembling only: unit class directions [C, E].
    private readonly Tensor? classWeights;

    private ZeroShotClassifier(IReadOnlyList<string> classNames, TemplateEnsemble ensemble, float? logitScale, Tensor prompts, int[] offsets)
    {
        ClassNames = classNames;
        Ensemble = ensemble;
        LogitScale = logitScale;
        this.prompts = prompts;
        this.offsets = offsets;
        if (ensemble == TemplateEnsemble.Mean)
        {
            using var scope = NewDisposeScope();
            var means = Enumerable.Range(0, classNames.Count).Select(c => PromptsOf(c).mean([0])).ToList();
            classWeights = Cosine.Normalize(stack(means)).MoveToOuterDisposeScope();
        }
    }

    public IReadOnlyList<string> ClassNames { get; }

    public TemplateEnsemble Ensemble { get; }

    public float? LogitScale { get; }

    /// <summary>Encodes <paramref name="promptsPerClass"/> (one non-empty list per class, e.g. from
    /// <see cref="PromptTemplates.PromptsFor"/> or <see cref="ClassDescriptions.PromptsFor"/>) in batches of
    /// <paramref name="batchSize"/>, through <paramref name="cache"/> when given.</summary>
    public static ZeroShotClassifier Build(
        ITextEncoder textEncoder,
        IReadOnlyList<string> classNames,
        IReadOnlyList<IReadOnlyList<string>> promptsPerClass,
        TemplateEnsemble ensemble,
        float? logitScale = null,
        EmbeddingCache? cache = null,
        int batchSize = 256,
        IProgress<EvaluationProgress>? progress = null)
    {
        if (classNames.Count == 0)
            throw new OptionException("zero-shot classifier: no classes");
        if (promptsPerClass.Count != classNames.Count)
            throw new ArgumentException($"{promptsPerClass.Count} prompt lists for {classNames.Count} classes", nameof(promptsPerClass));
        var empty = classNames.Where((_, c) => promptsPerClass[c].Count == 0).ToList();
        if (empty.Count > 0)
            throw new OptionException($"zero-shot classifier: no prompts for class {string.Join(", ", empty.Select(name => $"'{name}'"))}");

        var offsets = new int[classNames.Count + 1];
        for (var c = 0; c < classNames.Count; c++) offsets[c + 1] = offsets[c] + promptsPerClass[c].Count;
        var texts = promptsPerClass.SelectMany(prompts => prompts).ToList();

        using var embeddings = BatchedEncoding.EncodeTexts(textEncoder, texts, batchSize, cache, progress);
        return new ZeroShotClassifier(classNames, ensemble, logitScale, Cosine.Normalize(embeddings), offsets);
    }

    /// <summary>Scores [N, C] for image embeddings [N, E] (not necessarily normalized).</summary>
    public Tensor Predict(Tensor imageEmbeddings)
    {
        if (imageEmbeddings.dim() != 2 || imageEmbeddings.shape[1] != prompts.shape[1])
            throw new ArgumentException($"expected image embeddings [N, {this.prompts.shape[1]}], got [{string.Join(", ", imageEmbeddings.shape)}]", nameof(imageEmbeddings));
        using var scope = NewDisposeScope();
        var images = Cosine.Normalize(imageEmbeddings);
        Tensor scores;
        if (classWeights is not null)
        {
            scores = images.matmul(classWeights.t());
        }
        else
        {
            var cosines = images.matmul(this.prompts.t());
            scores = stack(Enumerable.Range(0, ClassNames.Count)
                .Select(c => cosines.narrow(1, offsets[c], offsets[c + 1] - offsets[c]).amax([1]))
                .ToList(), 1);
        }
        if (LogitScale is { } scale) scores = scores.Times(scale);
        return scores.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        prompts.Dispose();
        classWeights?.Dispose();
    }

    private Tensor PromptsOf(int c) => prompts.narrow(0, offsets[c], offsets[c + 1] - offsets[c]);
}
