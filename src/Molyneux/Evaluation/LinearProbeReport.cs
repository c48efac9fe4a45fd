using System.Text.Json.Serialization;

namespace Molyneux.Evaluation;

/// <summary>The images of a linear probe: the training folder, split into the part the probe is fitted on and the part
/// that chooses the weight decay, and the test folder it is measured on.</summary>
public sealed record LinearProbeDatasetInfo(string TrainPath, string TestPath, int NumTrain, int NumValidation, int NumTest, int NumClasses);

public sealed record LinearProbeOptionsInfo(double ValidationFraction, int Seed, int Steps, double LearningRate, bool NormalizeFeatures, IReadOnlyList<double> WeightDecays);

/// <summary>One weight decay tried on the validation split: its accuracy there, and the mean cross-entropy that
/// breaks ties between equal accuracies.</summary>
public sealed record WeightDecayTrial(double WeightDecay, double ValidationAccuracy, double ValidationLoss);

/// <summary>The result of <c>molyneux eval linear-probe</c> (<see cref="LinearProbe.Evaluate"/>): logistic regression
/// on frozen image features, its weight decay chosen on a validation split of the training folder, refitted on the
/// whole training folder and measured on the test folder.</summary>
public sealed record LinearProbeReport : EvaluationReport
{
    public const string KindName = "linear_probe";

    [JsonPropertyOrder(-3)]
    public override string Kind => KindName;

    public required LinearProbeDatasetInfo Dataset { get; init; }

    public required LinearProbeOptionsInfo Options { get; init; }

    /// <summary>The weight decay chosen, with which the final probe was refitted.</summary>
    public required double WeightDecay { get; init; }

    /// <summary>Every weight decay tried, in the order tried.</summary>
    public required IReadOnlyList<WeightDecayTrial> Search { get; init; }

    /// <summary>Test accuracy: top-1, top-5, mean per-class recall, as for zero-shot classification.</summary>
    public required ClassificationMetricsInfo Metrics { get; init; }

    public required IReadOnlyList<ClassAccuracy> PerClass { get; init; }

    public required IReadOnlyList<ConfusedPair> MostConfused { get; init; }
}
