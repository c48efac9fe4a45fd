using Molyneux.Runtime;
namespace Molyneux.KnowledgeTransfer;

/// <summary>Reported after each inversion step: that step's losses, out of <paramref name="Steps"/>, with images at
/// <paramref name="Size"/>² pixels (the model's image size throughout a partial inversion).</summary>
public readonly record struct InversionProgress(InversionStepLoss Latest, int Steps, int Size) : IStepScalars
{
    /// <inheritdoc/>
    public int Step => Latest.Step;

    /// <summary>The step's mean loss, cosine and regularizer over the images, its learning rate and resolution.</summary>
    public IEnumerable<(string Tag, double Value)> Scalars() =>
        [("loss", Latest.Loss), ("cosine", Latest.Cosine), ("regularizer", Latest.Regularizer), ("lr", Latest.LearningRate), ("resolution", Size)];
}
