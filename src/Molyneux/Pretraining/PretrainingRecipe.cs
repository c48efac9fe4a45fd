using Molyneux.Runtime;
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

    /// <summary>Sets every parameter group's learning rate to the schedule's at <paramref name="step"/>.</summary>
    public static void SetLearningRate(AdamW optimizer, PretrainOptions options, int step, int totalSteps)
    {
        var learningRate = LearningRate(options, step, totalSteps);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
    }

    /// <summary>A step's update from its loss: gradients, the finite check before anything changes, gradient clipping
    /// to <see cref="PretrainOptions.GradientClipNorm"/>, the optimizer step, and the temperature clamped to
    /// <see cref="PretrainOptions.MaxLogitScale"/> as CLIP does. Returns the loss.</summary>
    /// <param name="optimizer">The model's optimizer.</param>
    /// <param name="model">The model whose parameters are clipped.</param>
    /// <param name="logitScale">Its log temperature.</param>
    /// <param name="loss">The step's loss, not yet differentiated.</param>
    /// <param name="options">The recipe.</param>
    /// <param name="loop">The loop the step runs in, for the divergence message.</param>
    /// <param name="step">The step (0-based).</param>
    public static double Update(AdamW optimizer, nn.Module model, Parameter logitScale, Tensor loss, PretrainOptions options, StepLoop loop, int step)
    {
        optimizer.zero_grad();
        loss.backward();
        loop.RequireFinite(step, isfinite(loss), "the loss");
        nn.utils.clip_grad_norm_(model.parameters(), options.GradientClipNorm);
        optimizer.step();
        using (no_grad()) logitScale.ClampInPlace(0, Math.Log(options.MaxLogitScale));
        return loss.item<float>();
    }
}
