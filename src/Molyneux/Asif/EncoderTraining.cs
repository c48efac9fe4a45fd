using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>The optimisation loop both unimodal encoders share. The loss of a step is a function of the step alone
/// (it seeds its own generator), so a run with a step count is reproducible.</summary>
internal static class EncoderTraining
{
    /// <summary>Trains every parameter of <paramref name="model"/> (AdamW, no weight decay on vectors: norms,
    /// biases, the class embedding) and returns the number of steps run. The schedule (linear warm-up over the first
    /// 5%, then cosine decay to zero) follows the fraction of the steps done or, with a time budget, of the time spent:
    /// on a machine shared with other work a budget then still ends on time with a fully decayed rate.</summary>
    public static int Run(nn.Module model, EncoderTrainingOptions options, Func<int, Tensor> lossAt, string encoder,
        IProgress<EncoderTrainingProgress>? progress)
    {
        options.Validate();
        var parameters = model.parameters().ToList();
        using var optimizer = torch.optim.AdamW([
                new AdamW.ParamGroup(parameters.Where(p => p.dim() >= 2), lr: options.LearningRate, weight_decay: options.WeightDecay),
                new AdamW.ParamGroup(parameters.Where(p => p.dim() < 2), lr: options.LearningRate, weight_decay: 0)],
            lr: options.LearningRate);
        model.train();
        var clock = Stopwatch.StartNew();
        double Done(int step) => options.Steps is { } steps ? (double)step / steps : clock.Elapsed.TotalMinutes / options.Minutes!.Value;
        const double warmup = 0.05;
        var step = 0;
        for (; Done(step) < 1; step++)
        {
            using var scope = NewDisposeScope();
            var done = Done(step);
            var rate = done < warmup
                ? options.LearningRate * Math.Max(done, 1e-3) / warmup
                : 0.5 * options.LearningRate * (1 + Math.Cos(Math.PI * (done - warmup) / (1 - warmup)));
            foreach (var group in optimizer.ParamGroups) group.LearningRate = rate;
            var loss = lossAt(step);
            optimizer.zero_grad();
            loss.backward();
            // Checked before the update, so the weights stay the last finite ones (as StepLoop does for the
            // fixed-length loops; this one runs to a time budget).
            var value = loss.item<float>();
            if (!float.IsFinite(value)) throw new DivergenceException($"{encoder} encoder training diverged at step {step + 1}: the loss is {value} (lower --lr)");
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            progress?.Report(new EncoderTrainingProgress(encoder, step + 1, Math.Min(1, Done(step + 1)), value, clock.Elapsed.TotalMinutes));
        }
        model.eval();
        return step;
    }
}
