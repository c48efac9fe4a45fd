using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Runtime;

/// <summary>Arithmetic for the models' hot paths that passes libtorch only Scalars living as long as the process.
///
/// Why: TorchSharp 0.107 turns every number into a <see cref="Scalar"/> whose finalizer frees the native value, and
/// <c>a + b</c> hands libtorch a temporary Scalar (alpha = 1) that is unreachable as soon as its handle is read. A
/// garbage collection started by another thread during the native call may finalize it while libtorch still reads it:
/// training under CPU contention crashed in the ViT's embedding sum with "Expected false to be true … toFloat …
/// Scalar.h:140" (and a reused allocation could as well be read as a wrong number). The forward passes add with
/// <see cref="Plus"/>, bound by <see cref="One"/> and scale by static Scalars instead.</summary>
internal static class LiveScalars
{
    /// <summary>1, for the places that need the number itself (a lower bound of a count).</summary>
    public static Scalar One { get; } = 1;

    /// <summary>a + b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);
}
