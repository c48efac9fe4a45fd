using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Runtime;

/// <summary>Where and in which precision tensors live: parsed from the CLI's <c>--device</c> and <c>--dtype</c>.</summary>
public sealed record ComputeDevice(Device Device, ScalarType DType)
{
    public static ComputeDevice Cpu { get; } = new(CPU, ScalarType.Float32);

    /// <summary>Parses "auto" (CUDA when present, else CPU), "cpu", "cuda" or "cuda:N", and "fp32"/"float32" or
    /// "bf16"/"bfloat16".</summary>
    public static ComputeDevice Parse(string device, string dtype = "fp32")
    {
        var parsedType = dtype.ToLowerInvariant() switch
        {
            "fp32" or "float32" or "float" => ScalarType.Float32,
            "bf16" or "bfloat16" => ScalarType.BFloat16,
            _ => throw new OptionException($"--dtype: unknown value '{dtype}', expected fp32 or bf16"),
        };
        var name = device.ToLowerInvariant();
        if (name == "auto") return new(cuda.is_available() ? CUDA : CPU, parsedType);
        if (name == "cpu") return new(CPU, parsedType);
        if (name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new OptionException($"--device: '{device}' was asked for, but no CUDA device is available (the CPU build TorchSharp-cpu cannot use one; build with TorchSharp-cuda-linux)");
            var index = name == "cuda" ? 0 : int.TryParse(name[5..], out var i) ? i : -1;
            if (index < 0 || index >= cuda.device_count())
                throw new OptionException($"--device: '{device}' does not exist ({cuda.device_count()} CUDA devices)");
            return new(torch.device(DeviceType.CUDA, index), parsedType);
        }
        throw new OptionException($"--device: unknown value '{device}', expected auto, cpu, cuda or cuda:N");
    }

    public override string ToString() => $"{Device.type.ToString().ToLowerInvariant()}{(Device.index >= 0 && Device.type == DeviceType.CUDA ? $":{Device.index}" : "")} {DType}";
}
