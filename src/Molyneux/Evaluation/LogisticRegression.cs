using Molyneux.Runtime;
using Molyneux.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Evaluation;

/// <summary>Multinomial logistic regression on fixed features: scores = features · W + b, trained to minimise the mean
/// cross-entropy plus λ/2 · ‖W‖² (the bias is not penalised, as in scikit-learn's LogisticRegression; λ = 1 / (C · N)
/// in its terms). The gradient is written out (Xᵀ(softmax − onehot)/N + λW), so no autograd graph is kept, and each
/// step is one full-batch Adam update from zero weights with a cosine-decayed learning rate: the loss is convex, so
/// starting from zero makes the result depend on the data and λ only.</summary>
public sealed class LogisticRegression : IDisposable
{
    // Made once: a temporary Scalar can be freed while libtorch reads it (LiveScalars).
    private static readonly Scalar MinusOne = -1;

    private readonly Tensor weights;
    private readonly Tensor bias;

    private LogisticRegression(Tensor weights, Tensor bias)
    {
        this.weights = weights;
        this.bias = bias;
    }

    public int Classes => (int)bias.shape[0];

    /// <summary>Fits <paramref name="features"/> [N, D] (float32, on the device to train on) to
    /// <paramref name="labels"/> (class indices below <paramref name="classes"/>).</summary>
    /// <exception cref="DivergenceException">The weights became NaN or infinite (a learning rate far too high).</exception>
    public static LogisticRegression Train(Tensor features, IReadOnlyList<int> labels, int classes, double weightDecay, int steps, double learningRate)
    {
        if (features.dim() != 2 || features.shape[0] != labels.Count)
            throw new ArgumentException($"features [{string.Join(", ", features.shape)}] do not match {labels.Count} labels", nameof(features));
        if (labels.Count == 0) throw new ArgumentException("no training examples", nameof(labels));
        if (labels.Any(label => label < 0 || label >= classes))
            throw new ArgumentException($"a label is not a class index below {classes}", nameof(labels));

        var device = features.device;
        var dimensions = features.shape[1];
        var weights = zeros([dimensions, classes], ScalarType.Float32, device);
        var bias = zeros([classes], ScalarType.Float32, device);
        using var firstMomentW = zeros_like(weights);
        using var secondMomentW = zeros_like(weights);
        using var firstMomentB = zeros_like(bias);
        using var secondMomentB = zeros_like(bias);
        using var x = features.to(ScalarType.Float32);
        using var targets = tensor(labels.Select(label => (long)label).ToArray(), ScalarType.Int64, device);
        using var onehot = nn.functional.one_hot(targets, classes).to(ScalarType.Float32);
        // Made once and kept alive through every step (LiveScalars explains why).
        using var lambda = weightDecay.ToScalar();
        using var inverseCount = (1.0 / labels.Count).ToScalar();
        using var xTransposed = x.t();

        using (no_grad())
        {
            for (var step = 1; step <= steps; step++)
            {
                using var scope = NewDisposeScope();
                var residual = nn.functional.softmax(x.matmul(weights).add(bias, LiveScalars.One), 1).add_(onehot, MinusOne);
                var gradientW = xTransposed.matmul(residual).mul_(inverseCount).add_(weights, lambda);
                var gradientB = residual.mean([0]);
                // CLIP_benchmark's cosine schedule without warm-up: the full rate at the first step, near zero at the last.
                var rate = 0.5 * learningRate * (1 + Math.Cos(Math.PI * (step - 1) / steps));
                Adam.Update(weights, gradientW, firstMomentW, secondMomentW, step, rate);
                Adam.Update(bias, gradientB, firstMomentB, secondMomentB, step, rate);
            }
        }
        bool finite;
        using (NewDisposeScope())
            finite = weights.isfinite().all().item<bool>() && bias.isfinite().all().item<bool>();
        if (!finite)
        {
            weights.Dispose();
            bias.Dispose();
            throw new DivergenceException($"logistic regression diverged (weight decay {weightDecay}, learning rate {learningRate}); lower --lr");
        }
        return new LogisticRegression(weights, bias);
    }

    /// <summary>Scores (logits) [N, classes] of <paramref name="features"/> [N, D].</summary>
    public Tensor Scores(Tensor features)
    {
        if (features.dim() != 2 || features.shape[1] != weights.shape[0])
            throw new ArgumentException($"expected features [N, {this.weights.shape[0]}], got [{string.Join(", ", features.shape)}]", nameof(features));
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return features.to(ScalarType.Float32).to(this.weights.device).matmul(this.weights).add(bias, LiveScalars.One).MoveToOuterDisposeScope();
    }

    /// <summary>The mean cross-entropy of <paramref name="features"/> against <paramref name="labels"/> (without the
    /// penalty): how confident the right answers are, where accuracy only counts them.</summary>
    public double CrossEntropy(Tensor features, IReadOnlyList<int> labels)
    {
        using var scope = NewDisposeScope();
        var scores = Scores(features);
        var targets = tensor(labels.Select(label => (long)label).ToArray(), ScalarType.Int64, scores.device);
        return nn.functional.cross_entropy(scores, targets).item<float>();
    }

    public void Dispose()
    {
        weights.Dispose();
        bias.Dispose();
    }
}
