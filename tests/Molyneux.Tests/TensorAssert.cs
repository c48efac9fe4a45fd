using static TorchSharp.torch;

namespace Molyneux.Tests;

internal static class TensorAssert
{
    /// <summary>Same shape and bit-identical values (exact equality, element by element).</summary>
    public static bool Identical(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && (a.numel() == 0 || a.eq(b).all().item<bool>());

    /// <summary>Same shape and every value within <paramref name="tolerance"/> of the expected one (0: equal).</summary>
    public static void Close(Tensor expected, Tensor actual, double tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        if (expected.numel() == 0) return;
        var difference = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs().max().item<double>();
        Assert.True(difference <= tolerance, $"largest difference {difference:G4} exceeds {tolerance:G4}");
    }
}
