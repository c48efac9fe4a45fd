using Molyneux.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Training;

/// <summary>Adam (Kingma &amp; Ba, 2015) written out, with PyTorch's arithmetic (torch.optim.Adam, no weight decay,
/// not amsgrad). The inversion keeps the moment estimates in its own tensors rather than in TorchSharp's optimizer,
/// so they can be saved with the rest of the state and restored bit for bit.</summary>
internal static class Adam
{
    public const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;

    // Made once: a temporary Scalar can be freed while libtorch reads it (LiveScalars).
    private static readonly Scalar Beta1Scalar = Beta1, Beta2Scalar = Beta2, EpsilonScalar = Epsilon;
    private static readonly Scalar OneMinusBeta1 = 1 - Beta1, OneMinusBeta2 = 1 - Beta2;

    /// <summary>One in-place update of <paramref name="parameter"/>; <paramref name="step"/> counts from 1 since the
    /// moments were last zeroed.</summary>
    public static void Update(Tensor parameter, Tensor gradient, Tensor firstMoment, Tensor secondMoment, long step, double learningRate)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        firstMoment.mul_(Beta1Scalar).add_(gradient, alpha: OneMinusBeta1);
        secondMoment.mul_(Beta2Scalar).addcmul_(gradient, gradient, value: OneMinusBeta2);
        var biasCorrection1 = 1 - Math.Pow(Beta1, step);
        var biasCorrection2 = 1 - Math.Pow(Beta2, step);
        using var secondMomentScale = Math.Sqrt(biasCorrection2).ToScalar();
        using var stepSize = (-learningRate / biasCorrection1).ToScalar();
        var denominator = secondMoment.sqrt().div_(secondMomentScale).add_(EpsilonScalar, LiveScalars.One);
        parameter.addcdiv_(firstMoment, denominator, value: stepSize);
    }
}
