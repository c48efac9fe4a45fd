namespace Molyneux.KnowledgeTransfer;

/// <summary>Reported after each inversion step: that step's losses, out of <paramref name="Steps"/>, with images at
/// <paramref name="Size"/>² pixels (the model's image size throughout a partial inversion).</summary>
public readonly record struct InversionProgress(InversionStepLoss Latest, int Steps, int Size);
