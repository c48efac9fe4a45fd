using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Modeling;

/// <summary>The MLP activation of CLIP-family transformers: exact GELU, or OpenAI's quick_gelu, x·σ(1.702x), where a
/// config names it (<c>hidden_act</c> in HF configs, <c>quick_gelu</c> in open_clip's).</summary>
public static class GeluActivation
{
    /// <summary>Made once: a temporary Scalar can be freed while libtorch reads it (<see cref="Runtime.LiveScalars"/>).</summary>
    private static readonly Scalar QuickGeluSlope = 1.702;

    public static Tensor Apply(Tensor x, bool quick) => quick ? x * functional.sigmoid(x.mul(QuickGeluSlope)) : functional.gelu(x);
}
