namespace Molyneux.Evaluation;

public enum EvaluationStage
{
    /// <summary>Encoding prompts (class templates or descriptors) or captions.</summary>
    EncodingTexts,

    EncodingImages,
}

/// <summary>How far an evaluation is: <paramref name="Done"/> of <paramref name="Total"/> items of the current stage
/// are encoded. A cache hit reports the whole stage done at once.</summary>
public readonly record struct EvaluationProgress(EvaluationStage Stage, int Done, int Total);
