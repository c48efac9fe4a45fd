using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>The parts of <see cref="PretrainOptions"/>' recipe that do not depend on the model family: AdamW with
/// weight decay on matrices only, linear warm-up then cosine decay, and batches that are a function of (seed, step).
/// <see cref="ClipPretrainer"/> and <see cref="CocaPretrainer"/> both train with these.</summary>
public static class PretrainingRecipe
{
    /// <summary>Linear warm-up to the peak, then cosine decay to zero.</summary>
    public static double LearningRate(PretrainOptions options, int step, int totalSteps)
    {
        var warmup = Math.Max(1, (int)(options.WarmupFraction * totalSteps));
        if (step < warmup) return options.LearningRate * (step + 1) / warmup;
        var progress = (double)(step - warmup) / Math.Max(1, totalSteps - warmup);
        return 0.5 * options.LearningRate * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>AdamW (β = 0.9, 0.98, ε = 10⁻⁶) with weight decay on the matrices of linear and convolution layers only,
    /// never on norms, biases, embeddings or the temperature.</summary>
    public static AdamW Optimizer(nn.Module model, PretrainOptions options)
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            var isMatrix = parameter.dim() >= 2 && !name.Contains("embedding", StringComparison.Ordinal);
            (isMatrix ? decay : noDecay).Add(parameter);
        }
        return optim.AdamW([new AdamW.ParamGroup(decay, lr: options.LearningRate, weight_decay: options.WeightDecay),
                            new AdamW.ParamGroup(noDecay, lr: options.LearningRate, weight_decay: 0)],
                           lr: options.LearningRate, beta1: 0.9, beta2: 0.98, eps: 1e-6);
    }

    /// <summary>The generator of step <paramref name="step"/>'s batch and augmentation: a resumed run draws what an
    /// uninterrupted one would.</summary>
    public static Generator StepGenerator(PretrainOptions options, int step) => new((ulong)options.Seed * 1_000_003UL + (ulong)step);

    /// <summary>min(batch size, data count) distinct indices of the data, drawn by <paramref name="generator"/>.</summary>
    public static int[] BatchIndices(int count, int batchSize, Generator generator)
    {
        using var scope = NewDisposeScope();
        return randperm(count, generator: generator)[..Math.Min(batchSize, count)].data<long>().Select(i => (int)i).ToArray();
    }

    /// <summary>Turns a time budget into steps from the speed of three forward+backward passes (the first untimed), on
    /// batches drawn by generators seeded 0, 1, 2; the gradients are cleared after and the weights not changed.</summary>
    /// <param name="model">The model, put in training mode.</param>
    /// <param name="minutes">The budget.</param>
    /// <param name="reserve">The share kept for what a pass does not time: the optimizer step and the probes.</param>
    /// <param name="forwardBackward">One pass on the batch the generator draws.</param>
    public static int CalibrateSteps(nn.Module model, double minutes, double reserve, Action<Generator> forwardBackward)
    {
        model.train();
        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            using var scope = NewDisposeScope();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            forwardBackward(new Generator((ulong)i));
            if (i > 0) times.Add(watch.Elapsed.TotalSeconds);
        }
        model.zero_grad();
        return Math.Max(1, (int)((1 - reserve) * minutes * 60 / times.Average()));
    }
}
