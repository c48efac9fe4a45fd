using static TorchSharp.torch;

namespace Molyneux.Onnx;

/// <summary>Builds a <see cref="ResNetModel"/> from an ONNX export of a BasicBlock ResNet by following its dataflow
/// from the image input, not its names (CNTK names weights <c>Parameter91</c>, <c>Constant98</c>): the stem is
/// Conv 7×7 → BatchNormalization → Relu → MaxPool; each block is the value read by a 3×3 Conv (conv1) and, when the
/// block strides or widens, a 1×1 Conv (the downsample), then BatchNormalization → Relu → Conv → BatchNormalization,
/// an Add of the shortcut (the block's input or the downsample's BatchNormalization) and a Relu. A block with a
/// downsample starts a stage; the tower ends at an AveragePool over the whole last map (or a GlobalAveragePool).
/// The stage lengths are read off the graph. Convolutions and pools are checked against torchvision's kernel, stride
/// and padding; CNTK pads stride-2 layers by one less at the end (pads [1, 1, 0, 0]), which samples the same
/// positions as torchvision's symmetric padding whenever the map's side is even, as every map is for inputs whose
/// side is a multiple of 32. Anything else is refused with what was not found.</summary>
internal sealed class OnnxResNetImport
{
    private readonly OnnxGraph graph;
    private readonly Dictionary<string, Tensor> parameters = new(StringComparer.Ordinal);
    private double? epsilon;

    private OnnxResNetImport(OnnxModelFile file) => graph = new OnnxGraph(file);

    private string Source => graph.File.Source;

    /// <param name="imageSize">The side of the images the model is fed; the final AveragePool must cover the
    /// whole map at this size, since the tower pools globally.</param>
    /// <param name="file">The ONNX graph of a ResNet, whose nodes are matched to the tower's layers.</param>
    public static ResNetModel Import(OnnxModelFile file, int imageSize)
    {
        var import = new OnnxResNetImport(file);
        var config = import.Walk(imageSize);
        return import.Build(config);
    }

    private ResNetConfig Walk(int imageSize)
    {
        var input = graph.File.Inputs.FirstOrDefault(name => !graph.File.Initializers.ContainsKey(name))
            ?? throw Unknown("the graph has no input that is not an initializer");
        var stemConv = ConvReading(input, kernel: 7, "the stem") ?? throw Unknown($"no 7×7 Conv reads the image input '{input}'");
        var stem = ConvBatchNorm(stemConv, "conv1", "bn1", kernel: 7, stride: 2, padding: 3);
        stem = Next(stem, "Relu", "the stem").Outputs[0];
        var maxPool = Next(stem, "MaxPool", "the stem");
        CheckWindow(maxPool, "the stem's MaxPool", kernel: 3, stride: 2, padding: 1);

        var stages = new List<int>();
        var value = maxPool.Outputs[0];
        while (ConvReading(value, kernel: 3, "") is { } conv1)
        {
            var downsample = ConvReading(value, kernel: 1, "");
            if (stages.Count == 0 || downsample is not null) stages.Add(0);
            var stage = stages.Count - 1;
            var prefix = $"layer{stage + 1}.{stages[stage]}.";
            var stride = stages[stage] == 0 && stage > 0 ? 2 : 1;
            value = Block(value, conv1, downsample, prefix, stride);
            stages[stage]++;
        }
        if (stages.Count == 0) throw Unknown($"no residual block after the stem's MaxPool ('{value}' is not read by a 3×3 Conv)");
        GlobalPool(value, imageSize, stages.Count);
        return new ResNetConfig(stages, epsilon ?? 1e-5);
    }

    /// <summary>One BasicBlock from its input; returns its output (after the final Relu).</summary>
    private string Block(string input, OnnxNode conv1, OnnxNode? downsample, string prefix, int stride)
    {
        var where = $"block {prefix.TrimEnd('.')}";
        var branch = ConvBatchNorm(conv1, $"{prefix}conv1", $"{prefix}bn1", kernel: 3, stride, padding: 1);
        branch = Next(branch, "Relu", where).Outputs[0];
        var conv2 = ConvReading(branch, kernel: 3, where) ?? throw Unknown($"{where}: no 3×3 Conv after the first Relu ('{branch}')");
        branch = ConvBatchNorm(conv2, $"{prefix}conv2", $"{prefix}bn2", kernel: 3, stride: 1, padding: 1);
        var shortcut = downsample is null
            ? input
            : ConvBatchNorm(downsample, $"{prefix}downsample.0", $"{prefix}downsample.1", kernel: 1, stride, padding: 0);
        var add = graph.Consumers(branch).FirstOrDefault(node => node.OpType == "Add" && OnnxGraph.OtherInput(node, branch) == shortcut)
            ?? throw Unknown($"{where}: '{branch}' is not added to the shortcut '{shortcut}' (not a residual block)");
        return Next(add.Outputs[0], "Relu", where).Outputs[0];
    }

    /// <summary>The tower pools the last map globally: a GlobalAveragePool, or an unpadded AveragePool whose window
    /// is the whole map at <paramref name="imageSize"/>.</summary>
    private void GlobalPool(string value, int imageSize, int stages)
    {
        if (graph.Next(value, "GlobalAveragePool") is not null) return;
        var pool = graph.Next(value, "AveragePool") ?? throw Unknown($"the last block's output '{value}' is not read by an AveragePool or GlobalAveragePool");
        var side = imageSize / (1 << (stages + 1));
        var kernel = Ints(pool, "kernel_shape");
        var pads = Ints(pool, "pads");
        if (kernel is null || kernel.Count != 2 || kernel.Any(size => size != side) || (pads is not null && pads.Any(pad => pad != 0)))
            throw Unknown($"the final AveragePool '{pool.Name}' has window [{Join(kernel)}] and pads [{Join(pads)}]; a global pool of the {side}×{side} map of a {imageSize}-px image needs [{side}, {side}] without pads");
    }

    /// <summary>The Conv with a k×k weight that reads <paramref name="value"/> as its data input.</summary>
    private OnnxNode? ConvReading(string value, int kernel, string where)
    {
        var convs = graph.Consumers(value)
            .Where(node => node.OpType == "Conv" && node.Inputs[0] == value && graph.Constant(node.Inputs[1]) is { } weight && weight.dim() == 4 && weight.shape[2] == kernel && weight.shape[3] == kernel)
            .ToList();
        return convs.Count switch
        {
            0 => null,
            1 => convs[0],
            _ => throw Unknown($"{where}: {convs.Count} {kernel}×{kernel} Convs read '{value}'".TrimStart(':', ' ')),
        };
    }

    /// <summary>A bias-free Conv followed by a BatchNormalization: records both; returns the BatchNormalization's output.</summary>
    private string ConvBatchNorm(OnnxNode conv, string convModule, string batchNormModule, int kernel, int stride, int padding)
    {
        if (conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0)
            throw Unknown($"Conv '{conv.Name}' ({convModule}) has a bias; torchvision's ResNet convolutions have none");
        var group = conv.Attributes.TryGetValue("group", out var groupAttribute) ? groupAttribute.Int : 1;
        var dilations = Ints(conv, "dilations");
        if (group != 1 || (dilations is not null && dilations.Any(dilation => dilation != 1)))
            throw Unknown($"Conv '{conv.Name}' ({convModule}) is grouped ({group}) or dilated ([{Join(dilations)}])");
        CheckWindow(conv, $"Conv '{conv.Name}' ({convModule})", kernel, stride, padding);
        parameters[$"{convModule}.weight"] = graph.Constant(conv.Inputs[1])!;

        var batchNorm = Next(conv.Outputs[0], "BatchNormalization", convModule);
        if (batchNorm.Inputs.Count != 5 || batchNorm.Outputs.Count < 1)
            throw Unknown($"BatchNormalization '{batchNorm.Name}' ({batchNormModule}) does not read X, scale, B, mean and var");
        var (scale, shift, mean, variance) = (Constant(batchNorm, 1), Constant(batchNorm, 2), Constant(batchNorm, 3), Constant(batchNorm, 4));
        if (batchNorm.Attributes.TryGetValue("spatial", out var spatial) && spatial.Int is not 1)
            throw Unknown($"BatchNormalization '{batchNorm.Name}' ({batchNormModule}) normalises per position (spatial = {spatial.Int}), not per channel");
        parameters[$"{batchNormModule}.weight"] = scale;
        parameters[$"{batchNormModule}.bias"] = shift;
        parameters[$"{batchNormModule}.running_mean"] = mean;
        parameters[$"{batchNormModule}.running_var"] = variance;
        var eps = batchNorm.Attributes.TryGetValue("epsilon", out var epsilonAttribute) && epsilonAttribute.Float is { } value ? value : 1e-5;
        // One ε for the whole tower; exports store it as float32, so compare at that precision.
        if (epsilon is { } first && (float)first != (float)eps)
            throw Unknown($"BatchNormalization '{batchNorm.Name}' ({batchNormModule}) has ε {eps}, the first had {first}");
        epsilon ??= (float)eps;
        return batchNorm.Outputs[0];
    }

    /// <summary>Kernel, strides and pads of a Conv or pool against torchvision's k×k window, stride and symmetric
    /// padding; at stride 2 CNTK's one-less end padding is accepted (see the class summary).</summary>
    private void CheckWindow(OnnxNode node, string what, int kernel, int stride, int padding)
    {
        var kernelShape = Ints(node, "kernel_shape");
        var strides = Ints(node, "strides") ?? [1, 1];
        var pads = Ints(node, "pads") ?? [0, 0, 0, 0];
        var autoPad = node.Attributes.TryGetValue("auto_pad", out var auto) ? auto.String : null;
        bool EndFits(long end) => end == padding || (stride == 2 && padding > 0 && end == padding - 1);
        if ((kernelShape is not null && kernelShape.Any(size => size != kernel)) || strides.Count != 2 || strides.Any(step => step != stride)
            || pads.Count != 4 || pads[0] != padding || pads[1] != padding || !EndFits(pads[2]) || !EndFits(pads[3])
            || autoPad is not (null or "" or "NOTSET"))
            throw Unknown($"{what} has kernel [{Join(kernelShape)}], strides [{Join(strides)}], pads [{Join(pads)}], auto_pad {autoPad ?? "unset"}; torchvision's layer there is {kernel}×{kernel}, stride {stride}, padding {padding}");
    }

    private Tensor Constant(OnnxNode node, int input) =>
        graph.Constant(node.Inputs[input]) is { } tensor && tensor.dim() == 1
            ? tensor
            : throw Unknown($"input {input} ('{node.Inputs[input]}') of {node.OpType} '{node.Name}' is not a constant vector");

    private OnnxNode Next(string value, string opType, string where) =>
        graph.Next(value, opType) ?? throw Unknown($"{where}: no single {opType} reads '{value}'");

    private static IReadOnlyList<long>? Ints(OnnxNode node, string attribute) =>
        node.Attributes.TryGetValue(attribute, out var value) ? value.Ints : null;

    private static string Join(IReadOnlyList<long>? values) => values is null ? "" : string.Join(", ", values);

    /// <summary>A ResNet of this shape with the found tensors copied in; every parameter and running statistic must
    /// have been found with its shape, and every found tensor must have a place.</summary>
    private ResNetModel Build(ResNetConfig config)
    {
        config.Validate(Source);
        var model = new ResNetModel(config);
        try
        {
            var problems = Checkpoints.ModuleWeights.CopyInto(model, parameters, withBuffers: true, name => name);
            if (problems.Length > 0) throw Unknown($"{problems} (for a torchvision ResNet of stages [{string.Join(", ", config.Layers)}])");
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private CheckpointException Unknown(string what) => new($"{Source}: not a ResNet export Molyneux can map: {what}");
}
