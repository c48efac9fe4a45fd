using System.Diagnostics;
using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <param name="Evaluated">The learning-curve point made at this step (probe accuracies included), if one was.</param>
/// <param name="Step">The step just taken, from 1.</param>
/// <param name="TotalSteps">The steps the run will take, for a progress bar and its ETA.</param>
/// <param name="Loss">The step's contrastive loss.</param>
/// <param name="Minutes">Wall-clock minutes since training started.</param>
/// <param name="ImagesPerSecond">Throughput over the recent steps.</param>
/// <param name="LearningRate">The learning rate the step used (the schedule's value).</param>
public readonly record struct PretrainProgress(int Step, int TotalSteps, double Loss, double Minutes, double ImagesPerSecond, double LearningRate,
    CurvePoint? Evaluated = null) : IStepScalars
{
    /// <inheritdoc/>
    public IEnumerable<(string Tag, double Value)> Scalars() =>
        [("loss", Loss), ("lr", LearningRate), ("pairs_per_second", ImagesPerSecond), .. CurveScalars(Evaluated)];

    /// <summary>A curve point's logit scale and probe accuracies ("probe/emoji_top1"), for TensorBoard.</summary>
    internal static IEnumerable<(string Tag, double Value)> CurveScalars(CurvePoint? point) => point is null ? [] :
        [("logit_scale", point.LogitScale), .. (point.Probes ?? new Dictionary<string, double>()).Select(probe => ("probe/" + probe.Key, probe.Value))];
}

/// <summary>Contrastive pretraining of a CLIP from scratch (Radford et al., 2021) on in-memory image–caption pairs,
/// ending in an ordinary HF checkpoint directory with its learning curve (training.json, training.png).
/// Every batch is a function of (seed, step) — which pairs, which caption, which augmentation — so a run resumed
/// from its saved state continues exactly as an uninterrupted one would.</summary>
public sealed class ClipPretrainer(IPretrainingData data, PretrainOptions options, ComputeDevice device)
{
    private const string StateFile = "pretrain_state.json";

    private readonly RandomAffine augmentation = new(data.Augmentation);
    private const string OptimizerFile = "optimizer.bin";

    public IProgress<PretrainProgress>? Progress { get; init; }

    /// <summary>Trains and writes <paramref name="output"/>. Cancelling saves the state (to resume from) and throws
    /// <see cref="OperationCanceledException"/>.</summary>
    public TrainingRecord Run(string output, bool resume = false, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var target = new ResumableOutput(output, StateFile, resume, overwrite);
        var resumeFolder = target.ResumeFolder;
        var state = target.HasState ? LoadState(resumeFolder) : null;
        using var clip = state is null ? NewModel() : ClipCheckpoint.Load(resumeFolder, new ClipLoadOptions { Device = device });
        var model = clip.Model;
        using var optimizer = PretrainingRecipe.Optimizer(model, options);
        if (state is not null)
        {
            using var reader = new BinaryReader(File.OpenRead(Path.Combine(resumeFolder, OptimizerFile)));
            optimizer.load_state_dict(reader);
        }
        var totalSteps = state?.TotalSteps ?? options.Steps ?? CalibrateSteps(clip, options.Minutes!.Value);
        var curve = state?.Curve.ToList() ?? [];
        var firstStep = state?.Step ?? 0;
        var minutesBefore = state?.Minutes ?? 0;
        var clock = Stopwatch.StartNew();
        double Minutes() => minutesBefore + clock.Elapsed.TotalMinutes;
        var evaluateEvery = Math.Max(1, totalSteps / Math.Max(1, options.EvaluationPoints));
        var lossSum = state?.LossSum ?? 0.0;
        var lossCount = state?.LossCount ?? 0;

        model.train();
        // Ctrl+C saves the state too, so that --resume continues from the last step done.
        var loop = new StepLoop("pretraining", totalSteps)
        {
            SaveInterval = TimeSpan.FromMinutes(options.CheckpointMinutes), SaveWhenCancelled = true, StatePath = resumeFolder,
            Advice = "lower --lr and --resume, or start again",
        };
        loop.Run(firstStep, step =>
        {
            var loss = TrainStep(clip, optimizer, loop, step, totalSteps);
            (lossSum, lossCount) = (lossSum + loss, lossCount + 1);
            var done = step + 1;
            CurvePoint? evaluated = null;
            if (done % evaluateEvery == 0 || done == totalSteps)
            {
                curve.Add(evaluated = new CurvePoint(done, Minutes(), lossSum / lossCount, PretrainingRecipe.LearningRate(options, step, totalSteps),
                    Math.Exp(model.logit_scale.detach().cpu().item<float>()), EvaluateProbes(clip)));
                (lossSum, lossCount) = (0, 0);
            }
            Progress?.Report(new PretrainProgress(done, totalSteps, loss, Minutes(), (done - firstStep) * options.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9),
                PretrainingRecipe.LearningRate(options, step, totalSteps), evaluated));
        }, save: done => SaveState(clip, optimizer, resumeFolder, new ResumeState(done, totalSteps, Minutes(), curve, lossSum, lossCount)), cancellationToken);

        var final = new Dictionary<string, double> { ["minutes"] = Math.Round(Minutes(), 3), ["steps"] = totalSteps };
        foreach (var (name, value) in curve.LastOrDefault()?.Probes ?? new Dictionary<string, double>()) final[name] = value;
        var record = new TrainingRecord(data.Description, options, totalSteps, curve, final, RunEnvironment.Capture(device));
        target.Complete(folder =>
        {
            ClipCheckpoint.WriteHuggingFaceFiles(clip, folder);
            record.Save(Path.Combine(folder, "training.json"));
            record.SavePlot(Path.Combine(folder, "training.png"));
        });
        return record;
    }

    /// <summary>A fresh model of the preset's shape with a vocabulary trained on the data's captions.</summary>
    private ClipPipeline NewModel()
    {
        var tokenizer = BpeTrainer.Train(data.VocabularyCorpus, options.VocabularySize);
        var preset = ClipConfig.FromFileOrPreset(options.Preset);
        var config = preset with
        {
            Text = preset.Text with
            {
                VocabSize = tokenizer.VocabularySize,
                MaxPositionEmbeddings = options.ContextLength,
                BosTokenId = tokenizer.StartOfTextId,
                EosTokenId = tokenizer.EndOfTextId,
                PadTokenId = 0,
            },
            Vision = preset.Vision with { ImageSize = data.ImageSize },
        };
        var model = new ClipModel(config);
        ClipInitialization.Apply(model, options.Seed);
        return new ClipPipeline(model, tokenizer, ClipImageProcessor.Default(data.ImageSize), device);
    }

    private double TrainStep(ClipPipeline clip, AdamW optimizer, StepLoop loop, int step, int totalSteps)
    {
        var model = clip.Model;
        var learningRate = PretrainingRecipe.LearningRate(options, step, totalSteps);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;

        var generator = PretrainingRecipe.StepGenerator(options, step);
        var (images, captions) = SampleBatch(generator);
        var augmented = augmentation.Apply(images, generator);
        var pixels = clip.ImageProcessor.Normalize(augmented).to(model.DType).to(model.Device);
        var ids = clip.Tokenizer.TokenizeBatch(captions, options.ContextLength).to(model.Device);
        var loss = ContrastiveLoss.Compute(model.GetImageFeatures(pixels), model.GetTextFeatures(ids), model.logit_scale);

        optimizer.zero_grad();
        loss.backward();
        loop.RequireFinite(step, isfinite(loss), "the loss");
        nn.utils.clip_grad_norm_(model.parameters(), options.GradientClipNorm);
        optimizer.step();
        using (no_grad()) model.logit_scale.ClampInPlace(0, Math.Log(options.MaxLogitScale));
        return loss.item<float>();
    }

    private (Tensor Images, IReadOnlyList<string> Captions) SampleBatch(Generator generator)
    {
        return data.Batch(PretrainingRecipe.BatchIndices(data.Count, options.BatchSize, generator), generator);
    }

    /// <summary>Turns a time budget into steps from the speed of a few untimed-then-timed forward+backward passes;
    /// the weights are not changed.</summary>
    private int CalibrateSteps(ClipPipeline clip, double minutes)
    {
        var model = clip.Model;
        model.train();
        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            using var scope = NewDisposeScope();
            var watch = Stopwatch.StartNew();
            var (images, captions) = SampleBatch(new Generator((ulong)i));
            var pixels = clip.ImageProcessor.Normalize(images).to(model.DType).to(model.Device);
            var ids = clip.Tokenizer.TokenizeBatch(captions, options.ContextLength).to(model.Device);
            ContrastiveLoss.Compute(model.GetImageFeatures(pixels), model.GetTextFeatures(ids), model.logit_scale).backward();
            if (i > 0) times.Add(watch.Elapsed.TotalSeconds);
        }
        model.zero_grad();
        // The optimizer step and the probes cost a little more than forward+backward; keep 10% in reserve.
        return Math.Max(1, (int)(0.9 * minutes * 60 / times.Average()));
    }

    private Dictionary<string, double> EvaluateProbes(ClipPipeline clip)
    {
        var results = new Dictionary<string, double>();
        foreach (var probe in data.Probes)
        {
            var (top1, top5) = probe.Evaluate(clip);
            results[$"{probe.Name}_top1"] = top1;
            results[$"{probe.Name}_top5"] = top5;
        }
        return results;
    }

    /// <summary>Everything besides weights and optimizer moments that the rest of the run depends on.</summary>
    private sealed record ResumeState(int Step, int TotalSteps, double Minutes, IReadOnlyList<CurvePoint> Curve, double LossSum, int LossCount);

    private static void SaveState(ClipPipeline clip, AdamW optimizer, string folder, ResumeState state) =>
        AtomicFile.WriteDirectory(folder, overwrite: true, temporary =>
        {
            ClipCheckpoint.WriteHuggingFaceFiles(clip, temporary);
            AtomicFile.Write(Path.Combine(temporary, OptimizerFile), stream =>
            {
                using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                optimizer.save_state_dict(writer);
            });
            AtomicFile.WriteAllText(Path.Combine(temporary, StateFile), JsonSerializer.Serialize(state, TrainingRecord.JsonOptions));
        });

    private static ResumeState LoadState(string folder)
    {
        var path = Path.Combine(folder, StateFile);
        try
        {
            return JsonSerializer.Deserialize<ResumeState>(File.ReadAllText(path), TrainingRecord.JsonOptions)
                   ?? throw new CheckpointException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not a valid pretraining state ({e.Message})", e);
        }
    }
}
