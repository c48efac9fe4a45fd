namespace Molyneux.Evaluation;

/// <summary>Settings of <see cref="Evaluator.EvaluateClassification(Modeling.IImageEncoder, Modeling.ITextEncoder, ILabeledImageDataset, ClassificationOptions, IProgress{EvaluationProgress}?)"/>; each maps to one CLI option.</summary>
public sealed record ClassificationOptions
{
    /// <summary>The model's location, recorded in the report only.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Prompt templates (<c>--templates</c>); ignored when <see cref="Descriptions"/> is set.</summary>
    public PromptTemplates Templates { get; init; } = PromptTemplates.Load("openai_imagenet");

    public TemplateEnsemble Ensemble { get; init; } = TemplateEnsemble.Mean;

    /// <summary>Classify by description (<c>--descriptions</c>) instead of by templates.</summary>
    public ClassDescriptions? Descriptions { get; init; }

    /// <summary>Turns a descriptor into a prompt; <c>{class}</c> and <c>{descriptor}</c> are replaced.</summary>
    public string DescriptorTemplate { get; init; } = ClassDescriptions.DefaultTemplate;

    /// <summary>Restrict / rename classes (<c>--classes</c>).</summary>
    public ClassSelection? Classes { get; init; }

    /// <summary>Multiplies the cosine scores (e.g. CLIP's exp(logit_scale)); rankings and metrics do not change.</summary>
    public float? LogitScale { get; init; }

    /// <summary>Images or prompts per encoder call.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Where embeddings are cached; null encodes everything every time.</summary>
    public EmbeddingCache? Cache { get; init; } = new(EmbeddingCache.DefaultFolder);

    /// <summary>How many most-confused pairs the report keeps.</summary>
    public int MostConfusedLimit { get; init; } = 20;
}

/// <summary>Settings of <see cref="Evaluator.EvaluateRetrieval"/>.</summary>
public sealed record RetrievalOptions
{
    /// <summary>The model's location, recorded in the report only.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Images or captions per encoder call.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Where embeddings are cached; null encodes everything every time.</summary>
    public EmbeddingCache? Cache { get; init; } = new(EmbeddingCache.DefaultFolder);

    /// <summary>The k of <see cref="RetrievalReport.RecallAtK"/> (<c>--recall-k</c>); each at least 1.</summary>
    public IReadOnlyList<int> RecallK { get; init; } = [1, 5, 10];
}
