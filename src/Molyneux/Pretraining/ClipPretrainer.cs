using System.Diagnostics;
using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using Molyneux.Training;
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
    private readonly RandomAffine augmentation = new(data.Augmentation);

    public IProgress<PretrainProgress>? Progress { get; init; }

    /// <summary>Trains and writes <paramref name="output"/>. Cancelling saves the state (to resume from) and throws
    /// <see cref="OperationCanceledException"/>.</summary>
    public TrainingRecord Run(string output, bool resume = false, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        options.Validate();
        ClipPipeline? clip = null;
        var run = new PretrainingRun(options, output, resume, overwrite, folder => ClipCheckpoint.WriteHuggingFaceFiles(clip!, folder));
        using var model = clip = run.Resumes ? ClipCheckpoint.Load(run.ResumeFolder, new ClipLoadOptions { Device = device }) : NewModel();
        using var optimizer = PretrainingRecipe.Optimizer(clip.Model, options);
        clip.Model.train();
        var (curve, final) = run.Train(optimizer, () => options.Steps ?? PretrainingRecipe.CalibrateSteps(clip.Model, options.Minutes!.Value, reserve: 0.1, forwardBackward: generator =>
            {
                var (images, captions) = SampleBatch(generator);
                var pixels = clip.ImageProcessor.Normalize(images).to(clip.Model.DType).to(clip.Model.Device);
                var ids = clip.Tokenizer.TokenizeBatch(captions, options.ContextLength).to(clip.Model.Device);
                ContrastiveLoss.Compute(clip.Model.GetImageFeatures(pixels), clip.Model.GetTextFeatures(ids), clip.Model.logit_scale).backward();
            }),
            (loop, step, total) => TrainStep(clip, optimizer, loop, step, total), () => EvaluateProbes(clip),
            () => Math.Exp(clip.Model.logit_scale.detach().cpu().item<float>()), Progress, cancellationToken);
        var record = new TrainingRecord(data.Description, options, (int)final["steps"], curve, final, RunEnvironment.Capture(device));
        run.Complete(folder =>
        {
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
        PretrainingRecipe.SetLearningRate(optimizer, options, step, totalSteps);

        var generator = PretrainingRecipe.StepGenerator(options, step);
        var (images, captions) = SampleBatch(generator);
        var augmented = augmentation.Apply(images, generator);
        var pixels = clip.ImageProcessor.Normalize(augmented).to(model.DType).to(model.Device);
        var ids = clip.Tokenizer.TokenizeBatch(captions, options.ContextLength).to(model.Device);
        var loss = ContrastiveLoss.Compute(model.GetImageFeatures(pixels), model.GetTextFeatures(ids), model.logit_scale);

        return PretrainingRecipe.Update(optimizer, model, model.logit_scale, loss, options, loop, step);
    }

    private (Tensor Images, IReadOnlyList<string> Captions) SampleBatch(Generator generator)
    {
        return data.Batch(PretrainingRecipe.BatchIndices(data.Count, options.BatchSize, generator), generator);
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
}
