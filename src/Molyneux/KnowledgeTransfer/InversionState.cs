using System.Globalization;
using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Everything an inversion needs to continue exactly where it stopped: the <see cref="Step"/> steps
/// done, the optimised <see cref="Inverted"/> tensor, Adam's moments, the random generator's state, the targets and
/// the loss curve so far, and the fingerprint of the options it ran under. All tensors are on the CPU. It is saved
/// as one safetensors file (moments and pixels in float32, bit for bit), so a resumed run matches an uninterrupted
/// one.</summary>
public sealed class InversionState : IDisposable
{
    private const string Format = "molyneux.inversion_state.v1";

    public InversionState(int step, Tensor inverted, Tensor firstMoment, Tensor secondMoment, Tensor generatorState,
        Tensor targets, IReadOnlyList<InversionStepLoss> lossCurve, string fingerprint)
    {
        (Step, Inverted, FirstMoment, SecondMoment, GeneratorState) = (step, inverted, firstMoment, secondMoment, generatorState);
        (Targets, LossCurve, Fingerprint) = (targets, lossCurve, fingerprint);
    }

    public int Step { get; }

    public Tensor Inverted { get; }

    public Tensor FirstMoment { get; }

    public Tensor SecondMoment { get; }

    /// <summary>The CPU generator's state (bytes), as <see cref="Generator.get_state"/> gives it.</summary>
    public Tensor GeneratorState { get; }

    /// <summary>The normalised target text embeddings [N, D].</summary>
    public Tensor Targets { get; }

    public IReadOnlyList<InversionStepLoss> LossCurve { get; }

    public string Fingerprint { get; }

    public void Save(string path)
    {
        using var curve = tensor(LossCurve.SelectMany(point => new[]
            { point.Step, point.Cosine, point.Regularizer, point.Loss, point.LearningRate }).ToArray(), [LossCurve.Count, 5]);
        SafetensorsFile.Write(path,
            [
                new("inverted", Inverted), new("adam.first_moment", FirstMoment), new("adam.second_moment", SecondMoment),
                new("generator_state", GeneratorState), new("targets", Targets), new("loss_curve", curve),
            ],
            new Dictionary<string, string>
            {
                ["format"] = Format, ["step"] = Step.ToString(CultureInfo.InvariantCulture), ["fingerprint"] = Fingerprint,
            });
    }

    public static InversionState Load(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var metadata = new StateMetadata(file, "inversion state", Format);
        var step = metadata.Count("step");

        using var scope = NewDisposeScope();
        var inverted = file.Read("inverted");
        var (first, second) = (file.Read("adam.first_moment"), file.Read("adam.second_moment"));
        var curve = file.Read("loss_curve").to(ScalarType.Float64);
        if (!first.shape.SequenceEqual(inverted.shape) || !second.shape.SequenceEqual(inverted.shape))
            throw new CheckpointException($"{path}: Adam's moments do not have the shape of the inverted tensor");
        if (!curve.shape.SequenceEqual([(long)step, 5]))
            throw new CheckpointException($"{path}: loss curve [{string.Join(", ", curve.shape)}] does not hold {step} steps");
        var values = curve.data<double>().ToArray();
        var points = Enumerable.Range(0, step)
            .Select(i => new InversionStepLoss((int)values[5 * i], values[5 * i + 1], values[5 * i + 2], values[5 * i + 3], values[5 * i + 4]))
            .ToList();
        return new InversionState(step, inverted.DetachFromDisposeScope(), first.DetachFromDisposeScope(), second.DetachFromDisposeScope(),
            file.Read("generator_state").DetachFromDisposeScope(), file.Read("targets").DetachFromDisposeScope(), points, metadata["fingerprint"]);
    }

    public void Dispose()
    {
        Inverted.Dispose();
        FirstMoment.Dispose();
        SecondMoment.Dispose();
        GeneratorState.Dispose();
        Targets.Dispose();
    }
}
