using Molyneux.Asif;
using static TorchSharp.torch;

namespace Molyneux.Onnx;

/// <summary>Builds the project's <see cref="BertModel"/> from an ONNX export of a Hugging Face BertModel by reading the
/// graph, not the weight names: exporters name MatMul weights <c>onnx::MatMul_123</c> (or just a number) and store them
/// [in, out], transposed relative to a torch Linear. The walk starts at the three embedding Gathers, finds each
/// LayerNorm (a LayerNormalization node, or its decomposition ReduceMean, Sub, Pow, ReduceMean, Add ε, Sqrt, Div, Mul γ,
/// Add β), and in each layer tells query, key and value apart by where their projections meet: query and key in the
/// score MatMul (query first), value after the Softmax. The shape (layers, width, heads, MLP width, vocabulary,
/// positions, ε) is read off the graph too. Anything else is refused with what was not found.</summary>
internal sealed class OnnxBertImport
{
    private readonly OnnxGraph graph;
    private readonly Dictionary<string, Tensor> parameters = new(StringComparer.Ordinal);
    private double? epsilon;

    private OnnxBertImport(OnnxModelFile file) => graph = new OnnxGraph(file);

    private string Source => graph.File.Source;

    public static BertModel Import(OnnxModelFile file)
    {
        var import = new OnnxBertImport(file);
        var config = import.Walk();
        return import.Build(config);
    }

    private BertConfig Walk()
    {
        var (sum, word, position, tokenType) = Embeddings();
        var hidden = LayerNorm(sum, "embeddings.LayerNorm");
        var width = (int)word.shape[1];
        var layers = 0;
        var heads = 0;
        var intermediate = 0;
        while (ProjectionsOf(hidden, width).Count == 3)
        {
            (hidden, heads, intermediate) = Layer(hidden, width, $"encoder.layer.{layers}.");
            layers++;
        }
        if (layers == 0) throw Unknown($"no attention layer after the embeddings' LayerNorm (value '{hidden}' is not read by three {width}×{width} MatMuls)");
        return new BertConfig(
            VocabSize: (int)word.shape[0],
            HiddenSize: width,
            NumHiddenLayers: layers,
            NumAttentionHeads: heads,
            IntermediateSize: intermediate,
            MaxPositionEmbeddings: (int)position.shape[0],
            TypeVocabSize: (int)tokenType.shape[0],
            LayerNormEps: epsilon ?? 1e-12);
    }

    /// <summary>The three Gathers from [rows, width] constants whose outputs are summed: the largest table is the
    /// vocabulary, the smallest the token types, the other the positions.</summary>
    private (string Sum, Tensor Word, Tensor Position, Tensor TokenType) Embeddings()
    {
        var tables = graph.File.Nodes
            .Where(node => node.OpType == "Gather" && graph.Constant(node.Inputs[0]) is { } table && table.dim() == 2 && table.dtype == ScalarType.Float32)
            .Select(node => (Node: node, Table: graph.Constant(node.Inputs[0])!))
            .OrderByDescending(entry => entry.Table.shape[0])
            .ToList();
        if (tables.Count != 3 || tables.Select(entry => entry.Table.shape[1]).Distinct().Count() != 1)
            throw Unknown($"expected three embedding tables of one width (word, position, token type) read by Gather nodes, found {tables.Count}");
        var (word, position, tokenType) = (tables[0], tables[1], tables[2]);
        parameters["embeddings.word_embeddings.weight"] = word.Table;
        parameters["embeddings.position_embeddings.weight"] = position.Table;
        parameters["embeddings.token_type_embeddings.weight"] = tokenType.Table;

        // Follow the Adds from the word embeddings until all three have been summed.
        var summed = new HashSet<string>(tables.Select(entry => entry.Node.Outputs[0]), StringComparer.Ordinal);
        var value = word.Node.Outputs[0];
        var seen = 1;
        while (seen < 3)
        {
            var add = graph.Next(value, "Add") ?? throw Unknown($"the embedding sum stops at '{value}' (no single Add reads it)");
            var other = OnnxGraph.OtherInput(add, value);
            if (summed.Contains(other)) seen++;
            else if (graph.Producer(other) is { OpType: "Add" } inner && inner.Inputs.All(summed.Contains)) seen += 2;
            else throw Unknown($"the embedding sum at node '{add.Name}' adds '{other}', which is not an embedding");
            value = add.Outputs[0];
        }
        return (value, word.Table, position.Table, tokenType.Table);
    }

    /// <summary>One post-norm layer from its input; returns its output, the number of heads and the MLP width.</summary>
    private (string Output, int Heads, int Intermediate) Layer(string input, int width, string prefix)
    {
        string? query = null, key = null, value = null;
        OnnxNode? scores = null, context = null;
        foreach (var (projected, weight, bias) in ProjectionsOf(input, width))
        {
            var (matMul, slot) = FollowToMatMul(projected);
            string role;
            if (slot == 0) { role = "q_proj"; query = projected; scores = matMul; }
            else if (graph.Producer(matMul.Inputs[0]) is { OpType: "Softmax" }) { role = "v_proj"; value = projected; context = matMul; }
            else { role = "k_proj"; key = projected; }
            parameters[$"{prefix}self_attn.{role}.weight"] = weight.t();
            parameters[$"{prefix}self_attn.{role}.bias"] = bias;
        }
        if (query is null || key is null || value is null || scores is null || context is null)
            throw Unknown($"layer {prefix.TrimEnd('.')}: the projections of '{input}' are not a query, a key and a value (found query {query is not null}, key {key is not null}, value {value is not null})");
        var heads = Heads(scores, width, prefix);

        var attentionOutput = FollowToLinear(context.Outputs[0], width, width, $"{prefix}self_attn.out_proj", prefix);
        var attended = LayerNorm(Residual(attentionOutput, input, prefix), $"{prefix}attention_norm");

        var intermediate = Linear(attended, $"{prefix}mlp.fc1", rows: width, columns: null)
            ?? throw Unknown($"layer {prefix.TrimEnd('.')}: no MLP MatMul reads the attention output '{attended}'");
        var mlpWidth = (int)parameters[$"{prefix}mlp.fc1.bias"].shape[0];
        var mlpOutput = FollowGelu(intermediate, mlpWidth, width, prefix);
        var output = LayerNorm(Residual(mlpOutput, attended, prefix), $"{prefix}output_norm");
        return (output, heads, mlpWidth);
    }

    /// <summary>The heads follow from the scores' scale 1/√head_dim (a Div by √d or a Mul by 1/√d after the score MatMul).</summary>
    private int Heads(OnnxNode scores, int width, string prefix)
    {
        foreach (var node in graph.Consumers(scores.Outputs[0]))
        {
            var scale = graph.Scalar(OnnxGraph.OtherInput(node, scores.Outputs[0]));
            var headSize = (node.OpType, scale) switch
            {
                ("Div", { } divisor) => divisor * divisor,
                ("Mul", { } factor) when factor > 0 => 1 / (factor * factor),
                _ => double.NaN,
            };
            if (double.IsFinite(headSize) && Math.Abs(headSize - Math.Round(headSize)) < 1e-3 && Math.Round(headSize) > 0 && width % (int)Math.Round(headSize) == 0)
                return width / (int)Math.Round(headSize);
        }
        throw Unknown($"layer {prefix.TrimEnd('.')}: the attention scores ('{scores.Outputs[0]}') are not scaled by 1/√head_size, so the number of heads is unknown");
    }

    /// <summary>MatMul + Add projections of <paramref name="input"/> with [width, width] weights.</summary>
    private List<(string Output, Tensor Weight, Tensor Bias)> ProjectionsOf(string input, int width) =>
        graph.Consumers(input)
            .Where(node => node.OpType == "MatMul" && node.Inputs[0] == input)
            .Select(node => LinearAt(node, width, width))
            .OfType<(string, Tensor, Tensor)>()
            .ToList();

    /// <summary>The MatMul node as a Linear: its [in, out] constant weight and the bias added right after.</summary>
    private (string Output, Tensor Weight, Tensor Bias)? LinearAt(OnnxNode matMul, int rows, int? columns)
    {
        if (graph.Constant(matMul.Inputs[1]) is not { } weight || weight.dim() != 2 || weight.shape[0] != rows || (columns is { } c && weight.shape[1] != c))
            return null;
        var add = graph.Next(matMul.Outputs[0], "Add");
        if (add is null || graph.Constant(OnnxGraph.OtherInput(add, matMul.Outputs[0])) is not { } bias || bias.dim() != 1 || bias.shape[0] != weight.shape[1])
            return null;
        return (add.Outputs[0], weight, bias);
    }

    private string? Linear(string input, string module, int rows, int? columns)
    {
        foreach (var node in graph.Consumers(input).Where(node => node.OpType == "MatMul" && node.Inputs[0] == input))
            if (LinearAt(node, rows, columns) is var (output, weight, bias))
            {
                parameters[$"{module}.weight"] = weight.t();
                parameters[$"{module}.bias"] = bias;
                return output;
            }
        return null;
    }

    /// <summary>From a projection's output through the head reshapes (Reshape, Transpose, a scaling) to the MatMul it
    /// feeds, and which of its two inputs it is.</summary>
    private (OnnxNode MatMul, int Slot) FollowToMatMul(string value)
    {
        for (var step = 0; step < 8; step++)
        {
            var matMul = graph.Consumers(value).FirstOrDefault(node => node.OpType == "MatMul" && graph.Constant(node.Inputs[1]) is null);
            if (matMul is not null) return (matMul, matMul.Inputs[0] == value ? 0 : 1);
            var next = graph.Consumers(value).FirstOrDefault(node => node.OpType is "Reshape" or "Transpose" or "Div" or "Mul" && node.Inputs[0] == value);
            if (next is null) break;
            value = next.Outputs[0];
        }
        throw Unknown($"the attention projection '{value}' does not reach an attention MatMul through reshapes");
    }

    /// <summary>From the attention context through the head merge (Transpose, Reshape) to the output projection.</summary>
    private string FollowToLinear(string value, int rows, int columns, string module, string prefix)
    {
        for (var step = 0; step < 8; step++)
        {
            if (Linear(value, module, rows, columns) is { } output) return output;
            var next = graph.Consumers(value).FirstOrDefault(node => node.OpType is "Reshape" or "Transpose" && node.Inputs[0] == value);
            if (next is null) break;
            value = next.Outputs[0];
        }
        throw Unknown($"layer {prefix.TrimEnd('.')}: no output projection after the attention context '{value}'");
    }

    /// <summary>From fc1's output through an exact (erf) GELU to fc2; the tanh approximation is another model.</summary>
    private string FollowGelu(string value, int mlpWidth, int width, string prefix)
    {
        var frontier = new Queue<string>([value]);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var erf = false;
        while (frontier.Count > 0 && visited.Count < 16)
        {
            var current = frontier.Dequeue();
            if (!visited.Add(current)) continue;
            foreach (var node in graph.Consumers(current))
            {
                if (node.OpType == "MatMul" && node.Inputs[0] == current && LinearAt(node, mlpWidth, width) is not null)
                {
                    if (!erf) throw Unknown($"layer {prefix.TrimEnd('.')}: the MLP activation between '{value}' and '{node.Name}' is not the exact (Erf) GELU");
                    return Linear(current, $"{prefix}mlp.fc2", mlpWidth, width)!;
                }
                if (node.OpType is "Div" or "Mul" or "Add" or "Erf")
                {
                    erf |= node.OpType == "Erf";
                    frontier.Enqueue(node.Outputs[0]);
                }
            }
        }
        throw Unknown($"layer {prefix.TrimEnd('.')}: no second MLP MatMul ({mlpWidth}×{width}) after '{value}'");
    }

    private string Residual(string branch, string skip, string prefix) =>
        graph.Consumers(branch).FirstOrDefault(node => node.OpType == "Add" && OnnxGraph.OtherInput(node, branch) == skip)?.Outputs[0]
        ?? throw Unknown($"layer {prefix.TrimEnd('.')}: '{branch}' is not added to the layer's input '{skip}' (not a residual connection)");

    /// <summary>The LayerNorm applied to <paramref name="input"/>: a LayerNormalization node or its decomposition.</summary>
    private string LayerNorm(string input, string module)
    {
        if (graph.Next(input, "LayerNormalization") is { } fused && fused.Inputs.Count == 3
            && graph.Constant(fused.Inputs[1]) is { } scale && graph.Constant(fused.Inputs[2]) is { } shift)
        {
            Record(module, scale, shift, fused.Attributes.TryGetValue("epsilon", out var eps) && eps.Float is { } value ? value : 1e-5);
            return fused.Outputs[0];
        }
        var mean = graph.Next(input, "ReduceMean");
        var centred = mean is null ? null : graph.Consumers(input).FirstOrDefault(node => node.OpType == "Sub" && node.Inputs[0] == input && node.Inputs[1] == mean.Outputs[0]);
        var square = centred is null ? null : graph.Next(centred.Outputs[0], "Pow");
        var variance = square is null ? null : graph.Next(square.Outputs[0], "ReduceMean");
        var plusEpsilon = variance is null ? null : graph.Next(variance.Outputs[0], "Add");
        var root = plusEpsilon is null ? null : graph.Next(plusEpsilon.Outputs[0], "Sqrt");
        var normalised = centred is null ? null : graph.Next(centred.Outputs[0], "Div");
        var scaled = normalised is null ? null : graph.Next(normalised.Outputs[0], "Mul");
        var shifted = scaled is null ? null : graph.Next(scaled.Outputs[0], "Add");
        if (square is null || plusEpsilon is null || root is null || normalised is null || scaled is null || shifted is null
            || normalised.Inputs[1] != root.Outputs[0]
            || graph.Scalar(OnnxGraph.OtherInput(square, centred!.Outputs[0])) is not 2.0
            || graph.Scalar(OnnxGraph.OtherInput(plusEpsilon, variance!.Outputs[0])) is not { } epsilonValue
            || graph.Constant(OnnxGraph.OtherInput(scaled, normalised.Outputs[0])) is not { } weight
            || graph.Constant(OnnxGraph.OtherInput(shifted, scaled.Outputs[0])) is not { } bias)
            throw Unknown($"no LayerNorm ({module}) reads '{input}' (neither a LayerNormalization node nor ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add)");
        Record(module, weight, bias, epsilonValue);
        return shifted.Outputs[0];
    }

    private void Record(string module, Tensor weight, Tensor bias, double eps)
    {
        parameters[$"{module}.weight"] = weight;
        parameters[$"{module}.bias"] = bias;
        // BertConfig has one ε; exports store it as float32, so compare at that precision.
        if (epsilon is { } first && (float)first != (float)eps)
            throw Unknown($"LayerNorm {module} has ε {eps}, the first had {first}; one BertConfig cannot hold both");
        epsilon ??= (float)eps;
    }

    /// <summary>A BertModel of this shape with the found tensors copied in; every parameter must have been found.</summary>
    private BertModel Build(BertConfig config)
    {
        config.Validate(Source);
        var model = new BertModel(config);
        try
        {
            var problems = Checkpoints.ModuleWeights.CopyInto(model, parameters, withBuffers: false, BertNaming.HuggingFaceName);
            if (problems.Length > 0) throw Unknown(problems);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            // The transposed weights are views made here; the file's own tensors belong to the file.
            foreach (var name in parameters.Keys.Where(name => name.EndsWith("proj.weight", StringComparison.Ordinal) || name.Contains(".mlp.fc", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal)))
                parameters[name].Dispose();
        }
    }

    private CheckpointException Unknown(string what) => new($"{Source}: not a BERT export Molyneux can map: {what}");
}
