using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>The layout every unimodal encoder here is stored in: a Hugging Face model folder with config.json and
/// model.safetensors (plus the tokenizer or image processor files). Pickle weights are never read.</summary>
internal static class EncoderFolder
{
    public const string WeightsFile = "model.safetensors";

    public static string WeightsPath(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException($"{folder}: no such folder");
        var weights = Path.Combine(folder, WeightsFile);
        if (File.Exists(weights)) return weights;
        var hint = File.Exists(Path.Combine(folder, "pytorch_model.bin"))
            ? " Only pickle weights (pytorch_model.bin) are there; Molyneux never unpickles (it can execute code): convert them to safetensors first."
            : "";
        throw new CheckpointException($"{folder}: no {WeightsFile} in this folder.{hint}");
    }

    /// <summary>Loads the weights strictly into <paramref name="model"/>, moves it to the device in eval mode, and
    /// returns its identity: the SHA-256 of the weights file.</summary>
    public static string LoadWeights(nn.Module model, string folder, Func<string, string> fileNameOf, Func<string, bool> isIgnorable, ComputeDevice device)
    {
        var weights = WeightsPath(folder);
        ModuleWeights.Load(model, weights, fileNameOf, isIgnorable);
        ToDevice(model, device);
        return SafetensorsWeights.HashContent(weights);
    }

    /// <summary>Moves a loaded encoder (float32 weights) to the device and dtype, in eval mode.</summary>
    public static void ToDevice(nn.Module model, ComputeDevice device)
    {
        model.to(device.Device);
        if (device.DType != ScalarType.Float32) model.to(device.DType);
        model.eval();
    }

    /// <summary>Moves a batch to the model's device and dtype (integer ids keep theirs).</summary>
    public static Tensor ToDevice(Tensor batch, ComputeDevice device)
    {
        var moved = batch.to(device.Device);
        return moved.is_floating_point() ? moved.to(device.DType) : moved;
    }

    /// <summary>Older HF exports store position_ids buffers, which are not parameters.</summary>
    public static bool IsPositionIds(string name) => name.EndsWith("position_ids", StringComparison.Ordinal);
}
