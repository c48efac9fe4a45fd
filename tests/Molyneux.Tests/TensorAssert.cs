using static TorchSharp.torch;

namespace Molyneux.Tests;

internal static class TensorAssert
{
    /// <summary>Same shape and bit-identical values (exact equality, element by element).</summary>
    public static bool Identical(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && (a.numel() == 0 || a.eq(b).all().item<bool>());
}
