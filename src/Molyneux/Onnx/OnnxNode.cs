namespace Molyneux.Onnx;

/// <summary>One operator of an ONNX graph (NodeProto): what it computes (<see cref="OpType"/>), the names of the
/// values it reads and writes (an empty name is an omitted optional input), and its attributes.</summary>
public sealed record OnnxNode(
    string Name,
    string OpType,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, OnnxAttribute> Attributes)
{
    public override string ToString() => $"{OpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";
}
