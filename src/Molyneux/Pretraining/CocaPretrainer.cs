using System.Diagnostics;
using System.Text.Json;
using Molyneux.Captioning;
using Molyneux.Imaging;
using Molyneux.Runtime;
using Molyneux.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>A captioner's held-out samples, written beside the model (samples.json): each probe's first captions with
/// the references they were scored against, and the share of right captions where the probe can tell.</summary>
public sealed record CaptionSamples(string Probe, double CiderD, double Bleu4, IReadOnlyList<GeneratedCaption> Captions, double? Accuracy = null);

/// <summary>CoCa pretraining from scratch (Yu et al. 2022, as open_clip trains it): L = contrastive weight × CLIP's
/// symmetric contrastive loss + caption weight × the decoder's captioning loss (open_clip's defaults,
/// <see cref="CocaModel.DefaultContrastiveLossWeight"/> and <see cref="CocaModel.DefaultCaptionLossWeight"/>), on the same
/// image–caption pairs and with the same recipe as <see cref="ClipPretrainer"/> (<see cref="PretrainingRecipe"/>). Texts
/// are tokenized with OpenAI's CLIP BPE, as open_clip's CoCa models are, so the output is an ordinary open_clip CoCa
/// folder (model.safetensors + open_clip_config.json) that <c>molyneux caption</c> and <c>eval caption</c> read, with
/// training.json, training.png, samples.json and samples.html. The curve's probes are the held-out CIDEr-D and BLEU-4 of greedy
/// captions (<see cref="IPretrainingData.CaptionProbes"/>); a run resumes from its saved state exactly.</summary>
public sealed class CocaPretrainer(IPretrainingData data, PretrainOptions options, ComputeDevice device)
{
    public const string SamplesFileName = "samples.json";

    /// <summary>The same samples as a page of the images beside their captions and references (<see cref="CaptionPage"/>).</summary>
    public const string SamplesPageFileName = "samples.html";


    private readonly RandomAffine augmentation = new(data.Augmentation);

    public IProgress<PretrainProgress>? Progress { get; init; }

    /// <summary>Trains and writes <paramref name="output"/>. Cancelling saves the state (to resume from) and throws
    /// <see cref="OperationCanceledException"/>.</summary>
    public TrainingRecord Run(string output, bool resume = false, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        options.Validate();
        CocaModel? coca = null;
        var run = new PretrainingRun(options, output, resume, overwrite,
            folder => CocaCheckpoint.SaveFolder(coca!, folder));
        using var model = coca = run.Resumes ? CocaCheckpoint.Load(run.ResumeFolder, Path.Combine(run.ResumeFolder, CocaCheckpoint.ConfigFileName)) : NewModel();
        model.to(device.Device);
        var captioner = new Captioner(model);
        using var optimizer = PretrainingRecipe.Optimizer(model, options);
        model.train();
        var (curve, final) = run.Train(optimizer, () => options.Steps ?? PretrainingRecipe.CalibrateSteps(model, options.Minutes!.Value, reserve: 0.2, forwardBackward: generator =>
            {
                var (pixels, ids, captionLength) = Batch(captioner, generator, augment: false);
                TotalLoss(model, pixels, ids, captionLength).backward();
            }),
            (loop, step, total) => TrainStep(captioner, optimizer, loop, step, total),
            () =>
            {
                var probes = new Dictionary<string, double>();
                foreach (var (probe, result) in EvaluateProbes(captioner, finalOnly: false)) AddScores(probes, probe, result);
                return probes;
            },
            () => Math.Exp(model.logit_scale.detach().cpu().item<float>()), Progress, cancellationToken);
        var samples = new List<CaptionSamples>();
        var sampleRows = new List<CaptionPageRow>();
        foreach (var (probe, result) in EvaluateProbes(captioner, finalOnly: null))
        {
            AddScores(final, probe, result);
            samples.Add(new CaptionSamples(probe.Name, result.CiderD, result.Bleu4, result.Samples, result.Accuracy));
            sampleRows.AddRange(SampleRows(probe, result));
        }
        var record = new TrainingRecord(data.Description, options, (int)final["steps"], curve, final, RunEnvironment.Capture(device));
        run.Complete(folder =>
        {
            record.Save(Path.Combine(folder, "training.json"));
            TrainingRecord.SavePlot(curve, Path.Combine(folder, "training.png"), "held-out CIDEr-D (greedy)",
                key => key.EndsWith("_cider_d", StringComparison.Ordinal), probeMax: null);
            AtomicFile.WriteAllText(Path.Combine(folder, SamplesFileName), JsonSerializer.Serialize(samples, TrainingRecord.JsonOptions) + "\n");
            CaptionPage.Write(Path.Combine(folder, SamplesPageFileName), sampleRows, $"Held-out samples after {record.TotalSteps} steps",
                string.Join("; ", [data.Description, captioner.Greedy.Summary, .. samples.Select(s => $"{s.Probe}: CIDEr-D {s.CiderD:F2}, BLEU-4 {s.Bleu4:F2}")]));
        });
        return record;
    }

    /// <summary>A fresh CoCa of the preset's shape at the data's image size, its text context set by the options,
    /// initialised as open_clip initialises one.</summary>
    private CocaModel NewModel()
    {
        var preset = CocaPresets.FromFileOrPreset(options.Preset);
        var config = preset with
        {
            Vision = preset.Vision with { ImageSize = data.ImageSize },
            Text = preset.Text with { ContextLength = options.ContextLength },
            Multimodal = preset.Multimodal with { ContextLength = options.ContextLength },
        };
        config.Validate($"preset {options.Preset} at {data.ImageSize} px");
        var model = new CocaModel(config);
        CocaInitialization.Apply(model, options.Seed);
        return model;
    }

    private double TrainStep(Captioner captioner, AdamW optimizer, StepLoop loop, int step, int totalSteps)
    {
        var model = captioner.Model;
        PretrainingRecipe.SetLearningRate(optimizer, options, step, totalSteps);

        var generator = PretrainingRecipe.StepGenerator(options, step);
        var (pixels, ids, captionLength) = Batch(captioner, generator, augment: true);
        var loss = TotalLoss(model, pixels, ids, captionLength);

        return PretrainingRecipe.Update(optimizer, model, model.logit_scale, loss, options, loop, step);
    }

    /// <summary>The step's normalized images, their captions' ids padded to the context (as open_clip tokenizes them,
    /// so the text tower's CLS token sits where it will at inference), and the batch's longest caption in ids.</summary>
    private (Tensor Pixels, Tensor Ids, long CaptionLength) Batch(Captioner captioner, Generator generator, bool augment)
    {
        var model = captioner.Model;
        var (images, captions) = data.Batch(PretrainingRecipe.BatchIndices(data.Count, options.BatchSize, generator), generator);
        var pixels = captioner.ImageProcessor.Normalize(augment ? augmentation.Apply(images, generator) : images).to(model.Device);
        var ids = captioner.Tokenizer.TokenizeBatch(captions, model.Config.Text.ContextLength);
        var longest = ids.EqualTo(model.Config.Text.PadId).logical_not().any(0).nonzero().max().item<long>() + 1;
        return (pixels, ids.to(model.Device), longest);
    }

    /// <summary><see cref="CocaModel.TotalLoss"/> with open_clip's weights, the decoder run only over the first
    /// <paramref name="captionLength"/> positions: the padding after them is ignored by the captioning loss, and cutting
    /// it saves most of the product with the 49 408-word vocabulary, which dominates a small model's step.</summary>
    private static Tensor TotalLoss(CocaModel model, Tensor pixels, Tensor ids, long captionLength)
    {
        using var scope = NewDisposeScope();
        var (imageFeatures, imageTokens) = model.visual.forward(pixels);
        var (textFeatures, tokenStates) = model.text.forward(ids);
        var length = (int)captionLength;
        var caption = model.CaptionLoss(model.text_decoder.forward(imageTokens, tokenStates[.., ..length]), ids[.., ..length]);
        var contrastive = ContrastiveLoss.Compute(imageFeatures, textFeatures, model.logit_scale);
        return caption.Times(CocaModel.DefaultCaptionLossWeight).Plus(contrastive.Times(CocaModel.DefaultContrastiveLossWeight)).MoveToOuterDisposeScope();
    }


    /// <summary>The caption probes, measured on the model as it is: those along the curve (<paramref name="finalOnly"/>
    /// false), the test sets (true), or all (null).</summary>
    private IEnumerable<(CaptionProbe Probe, CaptionProbeResult Result)> EvaluateProbes(Captioner captioner, bool? finalOnly) =>
        data.CaptionProbes.Where(probe => finalOnly is null || probe.FinalOnly == finalOnly).Select(probe => (probe, probe.Evaluate(captioner))).ToList();

    /// <summary>A probe's samples beside their images: the samples are its first images' captions.</summary>
    private static IEnumerable<CaptionPageRow> SampleRows(CaptionProbe probe, CaptionProbeResult result)
    {
        using var images = probe.Images.narrow(0, 0, result.Samples.Count);
        var pngs = CaptionPage.Pngs(images);
        return result.Samples.Select((sample, i) => new CaptionPageRow(pngs[i], sample.Candidate, sample.References, probe.SourceOf(i)));
    }

    private static void AddScores(Dictionary<string, double> scores, CaptionProbe probe, CaptionProbeResult result)
    {
        scores[$"{probe.Name}_cider_d"] = result.CiderD;
        scores[$"{probe.Name}_bleu_4"] = result.Bleu4;
        if (result.Accuracy is { } accuracy) scores[$"{probe.Name}_accuracy"] = accuracy;
    }
}
