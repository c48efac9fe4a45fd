using System.Diagnostics;
using System.Text.Json;
using Molyneux.Runtime;
using TorchSharp.Modules;

namespace Molyneux.Pretraining;

/// <summary>What <see cref="ClipPretrainer"/> and <see cref="CocaPretrainer"/> share around their math: the resumable
/// output and its state (step, curve, the loss averaged since the last curve point, minutes, the optimizer's moments,
/// and the weights in the model kind's own files), the step loop with a curve point every
/// <c>total / EvaluationPoints</c> steps and progress after each step, and the final numbers. A run resumed from
/// its state continues exactly as an uninterrupted one.</summary>
/// <param name="options">The recipe (schedule, batch size, curve points, checkpoint interval).</param>
/// <param name="output">The folder the finished model goes to; its state lives beside it (<c>OUT.resume</c>).</param>
/// <param name="resume">Continue from the saved state (<c>--resume</c>).</param>
/// <param name="overwrite">Replace an existing output (<c>--overwrite</c>).</param>
/// <param name="writeWeights">Writes the model's files into a folder (the state's, or the output's).</param>
internal sealed class PretrainingRun(PretrainOptions options, string output, bool resume, bool overwrite, Action<string> writeWeights)
{
    private const string StateFile = "pretrain_state.json";
    private const string OptimizerFile = "optimizer.bin";

    private readonly ResumableOutput target = new(output, StateFile, resume, overwrite);

    /// <summary>The folder the state is kept in; the model to continue is loaded from it.</summary>
    public string ResumeFolder => target.ResumeFolder;

    /// <summary>Whether the run continues from a saved state (load the model from <see cref="ResumeFolder"/>).</summary>
    public bool Resumes => target.HasState;

    /// <summary>Runs the steps with <paramref name="optimizer"/> (its moments restored when resuming) and returns the
    /// curve and the final numbers (<c>minutes</c>, <c>steps</c> and the last point's probes).</summary>
    /// <param name="optimizer">The optimizer of the model's parameters, as <see cref="PretrainingRecipe.Optimizer"/> makes it.</param>
    /// <param name="totalSteps">The run's steps when it starts afresh (a resumed run keeps its own).</param>
    /// <param name="trainStep">One step's math; returns its loss.</param>
    /// <param name="probes">The held-out measurements of a curve point.</param>
    /// <param name="logitScale">The model's temperature, exp(logit_scale), for the curve.</param>
    /// <param name="progress">Hears every step.</param>
    /// <param name="cancellationToken">Cancelling saves the state and throws <see cref="OperationCanceledException"/>.</param>
    public (List<CurvePoint> Curve, Dictionary<string, double> Final) Train(AdamW optimizer, Func<int> totalSteps, Func<StepLoop, int, int, double> trainStep,
        Func<IReadOnlyDictionary<string, double>> probes, Func<double> logitScale, IProgress<PretrainProgress>? progress, CancellationToken cancellationToken)
    {
        var state = target.HasState ? LoadState() : null;
        if (state is not null)
        {
            using var reader = new BinaryReader(File.OpenRead(Path.Combine(ResumeFolder, OptimizerFile)));
            optimizer.load_state_dict(reader);
        }
        var total = state?.TotalSteps ?? totalSteps();
        var curve = state?.Curve.ToList() ?? [];
        var firstStep = state?.Step ?? 0;
        var minutesBefore = state?.Minutes ?? 0;
        var clock = Stopwatch.StartNew();
        double Minutes() => minutesBefore + clock.Elapsed.TotalMinutes;
        var evaluateEvery = Math.Max(1, total / Math.Max(1, options.EvaluationPoints));
        var (lossSum, lossCount) = (state?.LossSum ?? 0.0, state?.LossCount ?? 0);

        // Ctrl+C saves the state too, so that --resume continues from the last step done.
        var loop = new StepLoop("pretraining", total)
        {
            SaveInterval = TimeSpan.FromMinutes(options.CheckpointMinutes), SaveWhenCancelled = true, StatePath = ResumeFolder,
            Advice = "lower --lr and --resume, or start again",
        };
        loop.Run(firstStep, step =>
        {
            var loss = trainStep(loop, step, total);
            (lossSum, lossCount) = (lossSum + loss, lossCount + 1);
            var done = step + 1;
            CurvePoint? evaluated = null;
            if (done % evaluateEvery == 0 || done == total)
            {
                curve.Add(evaluated = new CurvePoint(done, Minutes(), lossSum / lossCount, PretrainingRecipe.LearningRate(options, step, total), logitScale(), probes()));
                (lossSum, lossCount) = (0, 0);
            }
            progress?.Report(new PretrainProgress(done, total, loss, Minutes(), (done - firstStep) * options.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9),
                PretrainingRecipe.LearningRate(options, step, total), evaluated));
        }, save: done => SaveState(optimizer, new State(done, total, Minutes(), curve, lossSum, lossCount)), cancellationToken);

        var final = new Dictionary<string, double> { ["minutes"] = Math.Round(Minutes(), 3), ["steps"] = total };
        foreach (var (name, value) in curve.LastOrDefault()?.Probes ?? new Dictionary<string, double>()) final[name] = value;
        return (curve, final);
    }

    /// <summary>Writes the output folder whole (weights, then <paramref name="fill"/>'s files) and removes the state.</summary>
    public void Complete(Action<string> fill) => target.Complete(folder =>
    {
        writeWeights(folder);
        fill(folder);
    });

    /// <summary>Everything besides weights and optimizer moments that the rest of the run depends on.</summary>
    private sealed record State(int Step, int TotalSteps, double Minutes, IReadOnlyList<CurvePoint> Curve, double LossSum, int LossCount);

    private void SaveState(AdamW optimizer, State state) =>
        AtomicFile.WriteDirectory(ResumeFolder, overwrite: true, temporary =>
        {
            writeWeights(temporary);
            AtomicFile.Write(Path.Combine(temporary, OptimizerFile), stream =>
            {
                using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                optimizer.save_state_dict(writer);
            });
            AtomicFile.WriteAllText(Path.Combine(temporary, StateFile), JsonSerializer.Serialize(state, TrainingRecord.JsonOptions));
        });

    private State LoadState()
    {
        var path = Path.Combine(ResumeFolder, StateFile);
        try
        {
            return JsonSerializer.Deserialize<State>(File.ReadAllText(path), TrainingRecord.JsonOptions)
                   ?? throw new CheckpointException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not a valid pretraining state ({e.Message})", e);
        }
    }
}
