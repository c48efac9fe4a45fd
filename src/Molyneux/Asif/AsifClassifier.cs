using Molyneux.Evaluation;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>How much one anchor pair contributes to the score of an image with a prompt: the product of the image's
/// and the prompt's relative representations at that anchor. The contributions of all anchors sum to the score.</summary>
/// <param name="ImageSimilarity">Cosine of the image with the anchor's image.</param>
/// <param name="TextSimilarity">Cosine of the prompt with the anchor's caption.</param>
/// <param name="Anchor">The anchor pair's index in the ASIF index.</param>
/// <param name="Caption">The anchor's caption, to show the user what the anchor stands for.</param>
/// <param name="ImagePath">The anchor's image file, to show it beside the caption.</param>
/// <param name="Contribution">ImageSimilarity × TextSimilarity after ASIF's sparsification and exponent: this anchor's share of the score.</param>
public sealed record AnchorContribution(int Anchor, string Caption, string ImagePath, float ImageSimilarity, float TextSimilarity, float Contribution);

/// <summary>Why an image got a class: the class's best prompt, its score and the anchors that made it, largest first.</summary>
public sealed record AsifExplanation(string ClassName, string Prompt, float Score, IReadOnlyList<AnchorContribution> Anchors);

/// <summary>Zero-shot classification with an ASIF index: every prompt (classes × templates) and every image is turned
/// into its relative representation against the anchors of its modality, and an image's score for a prompt is the
/// scalar product of the two sparse representations. A class scores its best prompt's score (ASIF's code) or the mean
/// of its prompts' (<see cref="AsifOptions.Ensemble"/>).</summary>
public sealed class AsifClassifier
{
    private readonly AsifIndex index;
    private readonly int[] offsets;

    private AsifClassifier(AsifIndex index, AsifOptions options, IReadOnlyList<string> classNames, IReadOnlyList<string> prompts,
        int[] offsets, SparseRows promptRelatives)
    {
        (this.index, Options, ClassNames, Prompts, this.offsets, PromptRelatives) = (index, options, classNames, prompts, offsets, promptRelatives);
    }

    public AsifOptions Options { get; }

    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>All prompts, grouped by class in class order.</summary>
    public IReadOnlyList<string> Prompts { get; }

    public SparseRows PromptRelatives { get; }

    /// <summary>Encodes the prompts of every class (through <paramref name="cache"/> when given) and represents them
    /// against the index's caption anchors. The text encoder must be the index's.</summary>
    public static AsifClassifier Build(AsifIndex index, ITextEncoder textEncoder, IReadOnlyList<string> classNames,
        IReadOnlyList<IReadOnlyList<string>> promptsPerClass, AsifOptions options, EmbeddingCache? cache = null, int batchSize = 256,
        IProgress<EvaluationProgress>? progress = null)
    {
        options.Validate();
        if (textEncoder.Identity != index.TextEncoder.Identity)
            throw new OptionException($"the text encoder is not the one the index was built with ({index.TextEncoder.Path ?? "path not recorded"})");
        if (classNames.Count == 0) throw new OptionException("ASIF classifier: no classes");
        if (promptsPerClass.Count != classNames.Count || promptsPerClass.Any(prompts => prompts.Count == 0))
            throw new ArgumentException("every class needs at least one prompt", nameof(promptsPerClass));
        var offsets = new int[classNames.Count + 1];
        for (var c = 0; c < classNames.Count; c++) offsets[c + 1] = offsets[c] + promptsPerClass[c].Count;
        var prompts = promptsPerClass.SelectMany(list => list).ToList();
        using var embeddings = BatchedEncoding.EncodeTexts(textEncoder, prompts, batchSize, cache, progress);
        return new AsifClassifier(index, options, classNames, prompts, offsets, RelativeRepresentation.Compute(embeddings, index.TextAnchors, options));
    }

    /// <summary>The relative representations of image embeddings [N, Ei] against the index's image anchors.</summary>
    public SparseRows RepresentImages(Tensor imageEmbeddings) => RelativeRepresentation.Compute(imageEmbeddings, index.ImageAnchors, Options);

    /// <summary>Class scores [N, C] for image embeddings [N, Ei].</summary>
    public Tensor Predict(Tensor imageEmbeddings) => Scores(RepresentImages(imageEmbeddings));

    /// <summary>Class scores [N, C] for images already represented.</summary>
    public Tensor Scores(SparseRows images)
    {
        using var scope = NewDisposeScope();
        var promptScores = images.Products(PromptRelatives);
        var classes = Enumerable.Range(0, ClassNames.Count).Select(c =>
        {
            var ofClass = promptScores.narrow(1, offsets[c], offsets[c + 1] - offsets[c]);
            return Options.Ensemble == TemplateEnsemble.Max ? ofClass.amax([1]) : ofClass.mean([1]);
        }).ToList();
        return stack(classes, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Explains row <paramref name="row"/> of <paramref name="images"/> for a class (by default its
    /// prediction): the class's best-scoring prompt and the <paramref name="top"/> anchors contributing most to it.</summary>
    public AsifExplanation Explain(SparseRows images, int row, int? classIndex = null, int top = 10)
    {
        using var scores = images.Row(row).Products(PromptRelatives);
        var promptScores = scores.data<float>().ToArray();
        int BestPromptOf(int c) => Enumerable.Range(offsets[c], offsets[c + 1] - offsets[c]).MaxBy(p => promptScores[p]);
        var chosen = classIndex ?? Enumerable.Range(0, ClassNames.Count).MaxBy(c => promptScores[BestPromptOf(c)]);
        var prompt = BestPromptOf(chosen);
        var imageEntries = new Dictionary<int, int>();
        for (var j = 0; j < images.K; j++) imageEntries[images.IndicesOf(row)[j]] = j;
        var contributions = new List<AnchorContribution>();
        for (var j = 0; j < PromptRelatives.K; j++)
        {
            var anchorIndex = PromptRelatives.IndicesOf(prompt)[j];
            if (!imageEntries.TryGetValue(anchorIndex, out var i)) continue;
            var anchor = index.Anchors[anchorIndex];
            contributions.Add(new AnchorContribution(anchorIndex, anchor.Caption, anchor.ImagePath, images.SimilaritiesOf(row)[i],
                PromptRelatives.SimilaritiesOf(prompt)[j], images.WeightsOf(row)[i] * PromptRelatives.WeightsOf(prompt)[j]));
        }
        return new AsifExplanation(ClassNames[chosen], Prompts[prompt], promptScores[prompt],
            contributions.OrderByDescending(contribution => contribution.Contribution).ThenBy(contribution => contribution.Anchor).Take(top).ToList());
    }
}
