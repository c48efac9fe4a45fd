using System.Globalization;
using Molyneux.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Everything a fine-tuning run needs to continue exactly where it stopped: the <see cref="Step"/> steps
/// done, the trainable tensors (tower weights, LoRA's A and B, or the concept token's row, in the order
/// <see cref="FineTuner"/> lists them), the optimiser's state (Adam's moments and step counts, as TorchSharp
/// serialises them), the shuffling generator's state with the current epoch's order, the losses so far, and the
/// fingerprint of the options and data. Saved as one safetensors file, every tensor bit for bit.</summary>
public sealed class FineTuneState : IDisposable
{
    private const string Format = "molyneux.fine_tune_state.v1";

    private FineTuneState(int step, IReadOnlyList<Tensor> trainable, byte[] optimizer, Tensor generatorState, Tensor order,
        IReadOnlyList<double> losses, string fingerprint)
    {
        (Step, Trainable, optimizerState, GeneratorState, Order, Losses, Fingerprint) =
            (step, trainable, optimizer, generatorState, order, losses, fingerprint);
    }

    private readonly byte[] optimizerState;

    public int Step { get; }

    public IReadOnlyList<Tensor> Trainable { get; }

    public Tensor GeneratorState { get; }

    /// <summary>The current epoch's order of the pairs.</summary>
    public Tensor Order { get; }

    public IReadOnlyList<double> Losses { get; }

    public string Fingerprint { get; }

    internal static void Save(string path, int step, IReadOnlyList<Parameter> trainable, OptimizerHelper optimizer, Generator shuffling,
        Tensor order, IReadOnlyList<double> losses, string fingerprint)
    {
        using var scope = NewDisposeScope();
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            optimizer.save_state_dict(writer);
        var tensors = trainable.Select((parameter, i) => KeyValuePair.Create($"trainable.{i}", parameter.detach()))
            .Append(KeyValuePair.Create("optimizer", tensor(buffer.ToArray())))
            .Append(KeyValuePair.Create("generator_state", shuffling.get_state()))
            .Append(KeyValuePair.Create("order", order))
            .Append(KeyValuePair.Create("losses", tensor(losses.ToArray())));
        SafetensorsFile.Write(path, tensors, new Dictionary<string, string>
        {
            ["format"] = Format, ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["trainable"] = trainable.Count.ToString(CultureInfo.InvariantCulture), ["fingerprint"] = fingerprint,
        });
    }

    public static FineTuneState Load(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var metadata = new StateMetadata(file, "fine-tuning state", Format);
        var (step, trainableCount) = (metadata.Count("step"), metadata.Count("trainable"));

        using var scope = NewDisposeScope();
        var losses = file.Read("losses").to(ScalarType.Float64).data<double>().ToArray();
        if (losses.Length != step)
            throw new CheckpointException($"{path}: {losses.Length} losses for {step} steps");
        var trainable = Enumerable.Range(0, trainableCount).Select(i => file.Read($"trainable.{i}").DetachFromDisposeScope()).ToList();
        return new FineTuneState(step, trainable, file.Read("optimizer").data<byte>().ToArray(), file.Read("generator_state").DetachFromDisposeScope(),
            file.Read("order").DetachFromDisposeScope(), losses, metadata["fingerprint"]);
    }

    /// <summary>Puts the saved values into a fresh run's parameters, optimiser and generator, after checking that it
    /// runs under the same options and data.</summary>
    internal void Restore(IReadOnlyList<Parameter> trainable, OptimizerHelper optimizer, Generator shuffling, string fingerprint)
    {
        if (Fingerprint != fingerprint)
            throw new OptionException($"fine-tuning: the saved state ran under other settings or data ({Fingerprint}) than these ({fingerprint})");
        if (trainable.Count != Trainable.Count || trainable.Zip(Trainable).Any(pair => !pair.First.shape.SequenceEqual(pair.Second.shape)))
            throw new OptionException("fine-tuning: the saved state's trainable tensors do not fit this model");
        using (no_grad())
            foreach (var (parameter, saved) in trainable.Zip(Trainable))
                parameter.copy_(saved);
        using var reader = new BinaryReader(new MemoryStream(optimizerState));
        optimizer.load_state_dict(reader);
        shuffling.set_state(GeneratorState);
    }

    public void Dispose()
    {
        foreach (var tensor in Trainable) tensor.Dispose();
        GeneratorState.Dispose();
        Order.Dispose();
    }
}
