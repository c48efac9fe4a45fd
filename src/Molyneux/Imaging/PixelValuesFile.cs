using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.Imaging;

/// <summary>Images already preprocessed for a vision tower, stored as a safetensors file holding one tensor named
/// <c>pixel_values</c> [N, 3, H, W] (as Hugging Face's processors return them).</summary>
public static class PixelValuesFile
{
    public const string TensorName = "pixel_values";

    /// <returns>float32 [N, 3, H, W] on the CPU</returns>
    public static Tensor Read(string path)
    {
        using var stored = SafetensorsFile.Open(path);
        if (!stored.Entries.ContainsKey(TensorName))
            throw new CheckpointException($"{path}: no tensor named '{TensorName}' (found: {string.Join(", ", stored.Entries.Keys)})");
        var values = stored.Read(TensorName);
        if (values.dim() != 4 || values.shape[1] != 3)
        {
            var shape = string.Join(", ", values.shape);
            values.Dispose();
            throw new CheckpointException($"{path}: {TensorName} must be [N, 3, H, W], found [{shape}]");
        }
        if (values.dtype == ScalarType.Float32) return values;
        using (values) return values.to(ScalarType.Float32);
    }
}
