using Google.Protobuf;
using static TorchSharp.torch;

namespace Molyneux.Onnx;

/// <summary>What Molyneux reads of an ONNX model (onnx.proto's ModelProto): the graph's nodes, its initializers as
/// CPU tensors, and the names of its inputs and outputs. Enough to map an exported network's weights onto a
/// TorchSharp module by the graph's structure; nothing here executes the graph. The protobuf wire format is read
/// with Google.Protobuf's <see cref="CodedInputStream"/>, field by field, without generated message classes.
/// Disposing the file disposes its tensors.</summary>
public sealed class OnnxModelFile : IDisposable
{
    // ModelProto
    private const int IrVersionField = 1;
    private const int GraphField = 7;
    private const int OpsetImportField = 8;
    // OperatorSetIdProto
    private const int OpsetDomainField = 1;
    private const int OpsetVersionField = 2;
    // GraphProto
    private const int NodeField = 1;
    private const int GraphNameField = 2;
    private const int InitializerField = 5;
    private const int InputField = 11;
    private const int OutputField = 12;
    // NodeProto
    private const int NodeInputField = 1;
    private const int NodeOutputField = 2;
    private const int NodeNameField = 3;
    private const int OpTypeField = 4;
    private const int AttributeField = 5;
    // AttributeProto
    private const int AttributeNameField = 1;
    private const int AttributeFloatField = 2;
    private const int AttributeIntField = 3;
    private const int AttributeStringField = 4;
    private const int AttributeTensorField = 5;
    private const int AttributeFloatsField = 7;
    private const int AttributeIntsField = 8;
    // ValueInfoProto
    private const int ValueNameField = 1;

    private readonly List<Tensor> owned = [];

    private OnnxModelFile(string source) => Source = source;

    /// <summary>The file (or resource) name errors give.</summary>
    public string Source { get; }

    public long IrVersion { get; private set; }

    /// <summary>The default domain's operator set version (0 when the file declares none).</summary>
    public long OpsetVersion { get; private set; }

    public string GraphName { get; private set; } = "";

    public IReadOnlyList<OnnxNode> Nodes { get; private set; } = [];

    public IReadOnlyDictionary<string, Tensor> Initializers { get; private set; } = new Dictionary<string, Tensor>();

    /// <summary>The graph's inputs; older exports list the initializers among them too.</summary>
    public IReadOnlyList<string> Inputs { get; private set; } = [];

    public IReadOnlyList<string> Outputs { get; private set; } = [];

    public static OnnxModelFile Read(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file");
        return Read(File.ReadAllBytes(path), path);
    }

    /// <param name="source">How errors name the model: a path, or an assembly resource's name.</param>
    /// <param name="stream">The ONNX file's bytes (a ModelProto), read to the end.</param>
    public static OnnxModelFile Read(Stream stream, string source)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Read(copy.Length == copy.GetBuffer().Length ? copy.GetBuffer() : copy.ToArray(), source);
    }

    public static OnnxModelFile Read(byte[] bytes, string source)
    {
        var model = new OnnxModelFile(source);
        try
        {
            model.ReadModel(new WireMessage(bytes, 0, bytes.Length));
            return model;
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
        {
            model.Dispose();
            throw new CheckpointException($"{source}: not a complete ONNX model (truncated, or not protobuf at all): {e.Message}", e);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The initializer of this name.</summary>
    public Tensor Initializer(string name) =>
        Initializers.TryGetValue(name, out var tensor) ? tensor : throw new CheckpointException($"{Source}: no initializer named '{name}'");

    public void Dispose()
    {
        foreach (var tensor in owned) tensor.Dispose();
        owned.Clear();
    }

    private void ReadModel(WireMessage message)
    {
        WireMessage? graph = null;
        foreach (var field in message.Fields())
            switch (field.Number)
            {
                case IrVersionField: IrVersion = field.Int64; break;
                case GraphField: graph = Expect(field, "graph").Payload; break;
                case OpsetImportField: ReadOpset(Expect(field, "opset_import").Payload); break;
            }
        if (graph is null) throw new CheckpointException($"{Source}: no graph in this file (not an ONNX model?)");
        ReadGraph(graph);
    }

    private void ReadOpset(WireMessage message)
    {
        var domain = "";
        long version = 0;
        foreach (var field in message.Fields())
            if (field.Number == OpsetDomainField) domain = field.String;
            else if (field.Number == OpsetVersionField) version = field.Int64;
        if (domain is "" or "ai.onnx") OpsetVersion = version;
    }

    private void ReadGraph(WireMessage message)
    {
        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var inputs = new List<string>();
        var outputs = new List<string>();
        foreach (var field in message.Fields())
            switch (field.Number)
            {
                case NodeField: nodes.Add(ReadNode(Expect(field, "node").Payload, nodes.Count)); break;
                case GraphNameField: GraphName = field.String; break;
                case InitializerField:
                    var (name, tensor) = OnnxTensorProto.Read(Expect(field, "initializer").Payload, Source, $"initializer #{initializers.Count}");
                    owned.Add(tensor);
                    if (!initializers.TryAdd(name, tensor)) throw new CheckpointException($"{Source}: two initializers are named '{name}'");
                    break;
                case InputField: inputs.Add(ValueName(Expect(field, "input").Payload)); break;
                case OutputField: outputs.Add(ValueName(Expect(field, "output").Payload)); break;
            }
        (Nodes, Initializers, Inputs, Outputs) = (nodes, initializers, inputs, outputs);
    }

    private OnnxNode ReadNode(WireMessage message, int index)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var name = "";
        var opType = "";
        var attributes = new List<WireMessage>();
        foreach (var field in message.Fields())
            switch (field.Number)
            {
                case NodeInputField: inputs.Add(field.String); break;
                case NodeOutputField: outputs.Add(field.String); break;
                case NodeNameField: name = field.String; break;
                case OpTypeField: opType = field.String; break;
                case AttributeField: attributes.Add(Expect(field, "attribute").Payload); break;
            }
        if (name.Length == 0) name = $"#{index}";
        var read = attributes.Select(attribute => ReadAttribute(attribute, name)).ToDictionary(attribute => attribute.Name, StringComparer.Ordinal);
        return new OnnxNode(name, opType, inputs, outputs, read);
    }

    private OnnxAttribute ReadAttribute(WireMessage message, string node)
    {
        var name = "";
        float? number = null;
        long? integer = null;
        string? text = null;
        WireMessage? tensorMessage = null;
        var floats = new List<float>();
        var ints = new List<long>();
        foreach (var field in message.Fields())
            switch (field.Number)
            {
                case AttributeNameField: name = field.String; break;
                case AttributeFloatField: number = field.Float; break;
                case AttributeIntField: integer = field.Int64; break;
                case AttributeStringField: text = field.String; break;
                case AttributeTensorField: tensorMessage = Expect(field, "attribute tensor").Payload; break;
                case AttributeFloatsField: WireMessage.AddFloats(field, floats); break;
                case AttributeIntsField: WireMessage.AddInt64s(field, ints); break;
            }
        Tensor? value = null;
        if (tensorMessage is not null)
        {
            value = OnnxTensorProto.Read(tensorMessage, Source, $"attribute '{name}' of node '{node}'").Tensor;
            owned.Add(value);
        }
        return new OnnxAttribute(name, number, integer, text, value, floats.Count > 0 ? floats : null, ints.Count > 0 ? ints : null);
    }

    private static string ValueName(WireMessage message) =>
        message.Fields().Where(field => field.Number == ValueNameField).Select(field => field.String).LastOrDefault() ?? "";

    /// <summary>A field that must hold a message (or string) arrived with another wire type: the bytes are not this
    /// format.</summary>
    private static WireField Expect(WireField field, string what) =>
        field.WireType == WireFormat.WireType.LengthDelimited
            ? field
            : throw new FormatException($"{what} (field {field.Number}) is not length-delimited");
}
