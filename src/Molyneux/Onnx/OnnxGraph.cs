using static TorchSharp.torch;

namespace Molyneux.Onnx;

/// <summary>Navigation over an <see cref="OnnxModelFile"/>'s dataflow: which node produces a value, which nodes read
/// it, and which values are constants (initializers or Constant nodes). Importers walk an exported network with it to
/// recognise layers by structure, since exporters are free to rename weights (<c>onnx::MatMul_123</c>).</summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, OnnxNode> producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<OnnxNode>> consumers = new(StringComparer.Ordinal);

    public OnnxGraph(OnnxModelFile file)
    {
        File = file;
        foreach (var node in file.Nodes)
        {
            foreach (var output in node.Outputs) producers[output] = node;
            foreach (var input in node.Inputs.Where(input => input.Length > 0).Distinct())
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        }
    }

    public OnnxModelFile File { get; }

    public IReadOnlyList<OnnxNode> Consumers(string value) => consumers.TryGetValue(value, out var list) ? list : [];

    public OnnxNode? Producer(string value) => producers.GetValueOrDefault(value);

    /// <summary>The value's tensor when it is an initializer or a Constant node's output; null when computed.</summary>
    public Tensor? Constant(string value)
    {
        if (File.Initializers.TryGetValue(value, out var initializer)) return initializer;
        return Producer(value) is { OpType: "Constant" } constant && constant.Attributes.TryGetValue("value", out var attribute) ? attribute.Tensor : null;
    }

    /// <summary>The value as a number when it is a constant with one element.</summary>
    public double? Scalar(string value) => Constant(value) is { } tensor && tensor.numel() == 1 ? tensor.to(ScalarType.Float64).item<double>() : null;

    /// <summary>The input of <paramref name="node"/> other than <paramref name="value"/>, for binary operators.</summary>
    public static string OtherInput(OnnxNode node, string value) =>
        node.Inputs.Count == 2 && (node.Inputs[0] == value || node.Inputs[1] == value) ? (node.Inputs[0] == value ? node.Inputs[1] : node.Inputs[0]) : "";

    /// <summary>The one node of this type reading the value, or null when there is none or more than one.</summary>
    public OnnxNode? Next(string value, string opType)
    {
        var matches = Consumers(value).Where(node => node.OpType == opType).ToList();
        return matches.Count == 1 ? matches[0] : null;
    }
}
