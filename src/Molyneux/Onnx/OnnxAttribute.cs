using static TorchSharp.torch;

namespace Molyneux.Onnx;

/// <summary>A node attribute (ONNX AttributeProto): one of a float, an integer, a string, a tensor, or lists of
/// floats or integers; the others (graphs, sparse tensors) are not read. The tensor belongs to the
/// <see cref="OnnxModelFile"/> it came from.</summary>
public sealed record OnnxAttribute(
    string Name,
    float? Float = null,
    long? Int = null,
    string? String = null,
    Tensor? Tensor = null,
    IReadOnlyList<float>? Floats = null,
    IReadOnlyList<long>? Ints = null);
