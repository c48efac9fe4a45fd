using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>A CLIP pipeline of a preset's shape with random weights (seeded, so runs compare), on the CPU in the
/// given dtype: speed and memory do not depend on what the weights learned.</summary>
internal static class RandomClip
{
    public static ClipPipeline Create(string preset, ScalarType dtype)
    {
        manual_seed(0);
        var config = ClipConfig.Preset(preset);
        return new ClipPipeline(new ClipModel(config), ClipTokenizer.OpenAiDefault(), ClipImageProcessor.Default(config.Vision.ImageSize),
            new ComputeDevice(CPU, dtype));
    }

    public static string DTypeName(ScalarType dtype) => dtype == ScalarType.BFloat16 ? "bf16" : "fp32";
}
