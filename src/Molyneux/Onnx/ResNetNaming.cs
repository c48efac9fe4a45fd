using System.Text.RegularExpressions;

namespace Molyneux.Onnx;

/// <summary><see cref="ResNetModel"/>'s torchvision names → Hugging Face <c>ResNetModel</c>'s, so that a saved
/// tower loads into transformers: the stem is <c>embedder.embedder</c>, block i of stage k is
/// <c>encoder.stages.k.layers.i</c> with its two convolutions as <c>layer.0</c> / <c>layer.1</c> and its
/// downsampling as <c>shortcut</c>. HF's ResNet computes the same function (stride on the first 3×3 convolution,
/// 1×1 projection shortcut where the width or the stride changes).</summary>
public static partial class ResNetNaming
{
    public static string HuggingFaceName(string moduleName)
    {
        var stem = StemPattern().Match(moduleName);
        if (stem.Success)
            return $"embedder.embedder.{(stem.Groups[1].Value == "conv" ? "convolution" : "normalization")}.{stem.Groups[2].Value}";
        var block = BlockPattern().Match(moduleName);
        if (!block.Success) return moduleName;
        var stage = int.Parse(block.Groups[1].Value) - 1;
        var part = block.Groups[3].Value switch
        {
            "conv1" => "layer.0.convolution",
            "bn1" => "layer.0.normalization",
            "conv2" => "layer.1.convolution",
            "bn2" => "layer.1.normalization",
            "downsample.0" => "shortcut.convolution",
            _ => "shortcut.normalization",
        };
        return $"encoder.stages.{stage}.layers.{block.Groups[2].Value}.{part}.{block.Groups[4].Value}";
    }

    [GeneratedRegex(@"^(conv|bn)1\.(\w+)$")]
    private static partial Regex StemPattern();

    [GeneratedRegex(@"^layer([1-4])\.(\d+)\.(conv1|bn1|conv2|bn2|downsample\.0|downsample\.1)\.(\w+)$")]
    private static partial Regex BlockPattern();
}
