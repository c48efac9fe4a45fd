namespace Molyneux.Evaluation;

/// <summary>A fitted linear probe (<see cref="LinearProbe.Fit"/>): the classifier refitted on every training example
/// with the chosen weight decay, and how that weight decay was chosen.</summary>
public sealed class LinearProbeFit(LogisticRegression classifier, double weightDecay, IReadOnlyList<WeightDecayTrial> search, int numTrain, int numValidation) : IDisposable
{
    public LogisticRegression Classifier { get; } = classifier;

    /// <summary>The weight decay with the best validation accuracy (ties: lower validation loss, then the smaller).</summary>
    public double WeightDecay { get; } = weightDecay;

    /// <summary>Every weight decay tried on the validation split, in the order tried.</summary>
    public IReadOnlyList<WeightDecayTrial> Search { get; } = search;

    /// <summary>Examples the search fitted on, and examples it measured on; the final classifier saw both.</summary>
    public int NumTrain { get; } = numTrain;

    public int NumValidation { get; } = numValidation;

    public void Dispose() => Classifier.Dispose();
}
