using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Molyneux.Onnx;

/// <summary>An ONNX TensorProto (an initializer, or a Constant node's value) as a TorchSharp tensor on the CPU:
/// float32, int32 and int64 data, stored as raw little-endian bytes or in the typed repeated fields. Data stored
/// outside the file (external_data) and other element types are refused by name rather than guessed at.</summary>
internal static class OnnxTensorProto
{
    private const int FloatType = 1;
    private const int Int32Type = 6;
    private const int Int64Type = 7;

    private const int DimsField = 1;
    private const int DataTypeField = 2;
    private const int FloatDataField = 4;
    private const int Int32DataField = 5;
    private const int Int64DataField = 7;
    private const int NameField = 8;
    private const int RawDataField = 9;
    private const int ExternalDataField = 13;

    /// <param name="what">How errors name this tensor when it has no name of its own (e.g. "attribute 'value' of node 'x'").</param>
    /// <param name="message">The TensorProto's fields.</param>
    /// <param name="source">How errors name the model file.</param>
    public static (string Name, Tensor Tensor) Read(WireMessage message, string source, string what)
    {
        var dims = new List<long>();
        var dataType = 0;
        var name = "";
        var floats = new List<float>();
        var integers = new List<long>();
        WireMessage? raw = null;
        var external = false;
        foreach (var field in message.Fields())
            switch (field.Number)
            {
                case DimsField: WireMessage.AddInt64s(field, dims); break;
                case DataTypeField: dataType = (int)field.Int64; break;
                case FloatDataField: WireMessage.AddFloats(field, floats); break;
                case Int32DataField or Int64DataField: WireMessage.AddInt64s(field, integers); break;
                case NameField: name = field.String; break;
                case RawDataField: raw = field.Payload; break;
                case ExternalDataField: external = true; break;
            }

        var label = name.Length > 0 ? $"initializer '{name}'" : what;
        if (external)
            throw new CheckpointException($"{source}: {label} keeps its data in an external file, which Molyneux does not read (save the model with its weights inside)");
        if (dims.Any(dim => dim < 0))
            throw new CheckpointException($"{source}: {label} has a negative dimension [{string.Join(", ", dims)}]");
        var count = dims.Aggregate(1L, (product, dim) => product * dim);
        var shape = dims.ToArray();
        var elementSize = dataType switch
        {
            FloatType or Int32Type => 4,
            Int64Type => 8,
            _ => throw new CheckpointException($"{source}: {label} has ONNX data type {dataType}; only float (1), int32 (6) and int64 (7) are read"),
        };

        if (raw is not null)
        {
            if (raw.Length != count * elementSize)
                throw new CheckpointException($"{source}: {label} has {raw.Length} bytes of data, but its dims [{string.Join(", ", dims)}] of {elementSize}-byte values need {count * elementSize}");
            // ONNX stores raw_data little-endian, as every platform TorchSharp runs on is.
            return (name, dataType switch
            {
                FloatType => tensor(MemoryMarshal.Cast<byte, float>(raw.Span).ToArray(), shape),
                Int32Type => tensor(MemoryMarshal.Cast<byte, int>(raw.Span).ToArray(), shape),
                _ => tensor(MemoryMarshal.Cast<byte, long>(raw.Span).ToArray(), shape),
            });
        }

        var stored = dataType == FloatType ? floats.Count : integers.Count;
        if (stored != count)
            throw new CheckpointException($"{source}: {label} holds {stored} values, but its dims [{string.Join(", ", dims)}] need {count}");
        return (name, dataType switch
        {
            FloatType => tensor(floats.ToArray(), shape),
            Int32Type => tensor(integers.Select(value => (int)value).ToArray(), shape),
            _ => tensor(integers.ToArray(), shape),
        });
    }
}
