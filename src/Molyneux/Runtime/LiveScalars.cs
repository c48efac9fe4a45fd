using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Runtime;

/// <summary>Tensor arithmetic with numbers that keeps every Scalar it hands libtorch reachable until libtorch returns:
/// constants are static, and each method below disposes its Scalar only after the call.
///
/// Why: TorchSharp 0.107 turns every number into a <see cref="Scalar"/> whose finalizer frees the native value, and
/// <c>a + b</c> hands libtorch a temporary Scalar (alpha = 1) that is unreachable as soon as its handle is read. A
/// garbage collection started by another thread during the native call may finalize it while libtorch still reads it,
/// and the call fails ("Unknown scalar type", "Expected false to be true … Scalar.h:140") or reads a wrong number. It
/// crashed training under CPU contention in the ViT's embedding sum, and within seconds when two threads augmented
/// batches (RandomAffine) while a background collection ran.</summary>
internal static class LiveScalars
{
    /// <summary>1: the alpha of additions, and the lower bound of a count.</summary>
    public static Scalar One { get; } = 1;

    /// <summary>255, to scale between bytes and [0, 1] in place.</summary>
    public static Scalar ByteMaximum { get; } = 255;

    /// <summary>a + b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a + number.</summary>
    public static Tensor Plus(this Tensor a, double number) => Using(number.ToScalar(), scalar => a.add(scalar, One));

    /// <summary>a + number, in int64 arithmetic for an integer tensor.</summary>
    public static Tensor Plus(this Tensor a, long number) => Using(number.ToScalar(), scalar => a.add(scalar, One));

    /// <summary>a · number.</summary>
    public static Tensor Times(this Tensor a, double number) => Using(number.ToScalar(), a.mul);

    /// <summary>a / number.</summary>
    public static Tensor Over(this Tensor a, double number) => Using(number.ToScalar(), scalar => a.div(scalar));

    /// <summary>a to the power number.</summary>
    public static Tensor Power(this Tensor a, double number) => Using(number.ToScalar(), a.pow);

    /// <summary>Whether each element is below number.</summary>
    public static Tensor Below(this Tensor a, double number) => Using(number.ToScalar(), a.lt);

    /// <summary>Whether each element equals number.</summary>
    public static Tensor EqualTo(this Tensor a, long number) => Using(number.ToScalar(), a.eq);

    /// <summary>max(a, number).</summary>
    public static Tensor AtLeast(this Tensor a, double number) => Using(number.ToScalar(), a.clamp_min);

    /// <summary>min(a, number).</summary>
    public static Tensor AtMost(this Tensor a, double number) => Using(number.ToScalar(), a.clamp_max);

    /// <summary>Clamps a to [min, max] in place.</summary>
    public static Tensor ClampInPlace(this Tensor a, double min, double max) =>
        Using(min.ToScalar(), low => Using(max.ToScalar(), high => a.clamp_(low, high)));

    /// <summary>0, 1, …, count − 1 as int64 (torch.arange).</summary>
    public static Tensor Range(long count, Device? device = null) => Range(0, count, device);

    /// <summary>start, start + 1, …, stop − 1 as int64 (torch.arange).</summary>
    public static Tensor Range(long start, long stop, Device? device = null) =>
        Using(start.ToScalar(), first => Using(stop.ToScalar(), end => arange(first, end, ScalarType.Int64, device)));

    /// <summary>Runs <paramref name="operation"/> and only then disposes <paramref name="scalar"/>, which keeps it
    /// reachable for as long as libtorch may read it.</summary>
    private static Tensor Using(Scalar scalar, Func<Scalar, Tensor> operation)
    {
        using (scalar) return operation(scalar);
    }
}
