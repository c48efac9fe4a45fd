using System.Diagnostics;
using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>What fine-tuning learns from: N images with one caption each (for Knowledge Transfer, images inverted
/// from the concept's description, captioned by <see cref="ConceptCaptions"/>), and negative captions that every
/// step contrasts them with.</summary>
/// <param name="Images">[N, 3, S, S], S the model's image size: pixels in [0, 1], as inversion produces them, or
/// already normalized with the model's mean and std when <paramref name="Normalized"/> is set.</param>
public sealed record FineTuneData(Tensor Images, IReadOnlyList<string> Captions, IReadOnlyList<string> Negatives, bool Normalized = false);

public readonly record struct FineTuneProgress(int Step, int TotalSteps, int Epoch, double Loss);

/// <param name="Losses">The loss of every step, in order (the loss curve).</param>
/// <param name="Token">The concept token token mode added, else null.</param>
/// <param name="Elapsed">The whole run, setup (encoding a frozen tower's features) included.</param>
public sealed record FineTuneResult(IReadOnlyList<double> Losses, long TrainableParameters, TimeSpan Elapsed, ConceptToken? Token);

/// <summary>Knowledge Transfer's second stage (Barbano et al. 2024): fine-tunes CLIP with its own contrastive loss
/// (Eq. 2) on (image, caption) pairs, each step taking a batch of pairs plus every negative caption. The pipeline is
/// trained in place; afterwards <see cref="Checkpoints.ClipCheckpoint.SaveHuggingFace"/> saves it as an ordinary HF
/// checkpoint (in token mode with the concept's name in its vocabulary).
///
/// Only the trainable parameters (<see cref="FineTuneOptions.Train"/>) require gradients and reach the optimiser.
/// A frozen tower's features cannot change, so they are encoded once before the first step rather than every step.</summary>
public sealed class FineTuner(FineTuneOptions options)
{
    public IProgress<FineTuneProgress>? Progress { get; init; }

    /// <summary>Trains <paramref name="clip"/> in place and marks its weights as changed
    /// (<see cref="ClipPipeline.WeightsChanged"/>). In token mode the concept token is added first, so it stays added
    /// even when training then fails, for instance because no caption contains the word.</summary>
    /// <param name="resumeFrom">A state an earlier run with the same options and data saved
    /// (<see cref="FineTuneOptions.SaveStateEvery"/>), to continue from: the result equals the uninterrupted run's.</param>
    public FineTuneResult Run(ClipPipeline clip, FineTuneData data, FineTuneState? resumeFrom = null)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        using var pixels = Pixels(clip, data);
        if (data.Captions.Count + data.Negatives.Count < 2)
            throw new OptionException("fine-tuning needs at least two captions in all (pairs and negatives) for the contrastive loss to compare");
        var token = options.Train == TrainMode.Token ? ConceptToken.Add(clip, options.TokenWord!) : null;
        var (losses, trainableCount) = Train(clip, pixels, data, token, resumeFrom);
        clip.WeightsChanged();
        return new FineTuneResult(losses, trainableCount, clock.Elapsed, token);
    }

    private (List<double> Losses, long TrainableCount) Train(ClipPipeline clip, Tensor pixels, FineTuneData data, ConceptToken? token, FineTuneState? resumeFrom)
    {
        // Every tensor set up for the run (ids, a frozen tower's features, permutations) is freed with this scope.
        using var setup = NewDisposeScope();
        var model = clip.Model;
        using var lora = options.Lora is { } loraOptions ? Lora.Attach(model, loraOptions, options.Seed) : null;
        using var conceptRow = token?.Train(model);
        var trainable = TrainableParameters(model, lora, conceptRow);
        var trainableCount = trainable.Sum(parameter => parameter.numel());
        using var gradients = new GradientSwitch(model, trainable);
        using var optimizer = CreateOptimizer(trainable);

        var pairCount = data.Captions.Count;
        var texts = data.Captions.Concat(data.Negatives).ToList();
        var textIds = clip.Tokenizer.TokenizeBatch(texts, model.Config.Text.MaxPositionEmbeddings).to(model.Device);
        if (token is not null && !textIds[..pairCount].EqualTo(token.Id).any().item<bool>())
            throw new OptionException($"--train token: no caption contains the word \"{token.Word}\", so its token would learn nothing");
        var trainsImage = options.Train is TrainMode.Image or TrainMode.Both;
        var trainsText = options.Train is not TrainMode.Image;
        var fixedImageFeatures = trainsImage ? null : clip.EncodePixels(pixels).to(model.DType, model.Device);
        var fixedTextFeatures = trainsText ? null : clip.EncodeTexts(texts).to(model.DType, model.Device);
        Tensor ImageFeatures(Tensor rows) => fixedImageFeatures?.index_select(0, rows) ?? model.GetImageFeatures(pixels.index_select(0, rows));
        Tensor TextFeatures(Tensor rows) => fixedTextFeatures?.index_select(0, rows) ?? model.GetTextFeatures(textIds.index_select(0, rows));

        var negativeRows = LiveScalars.Range(pairCount, texts.Count, model.Device);
        var stepsPerEpoch = (pairCount + options.BatchSize - 1) / options.BatchSize;
        var totalSteps = options.Steps ?? options.Epochs * stepsPerEpoch;
        var shuffling = new Generator((ulong)options.Seed);
        Tensor? order = null;
        var losses = new List<double>(totalSteps);
        var fingerprint = options.Fingerprint(data);
        if (resumeFrom is not null)
        {
            resumeFrom.Restore(trainable, optimizer, shuffling, fingerprint);
            order = resumeFrom.Order.to(model.Device, copy: true);
            losses.AddRange(resumeFrom.Losses);
        }
        for (var step = resumeFrom?.Step ?? 0; step < totalSteps; step++)
        {
            var (epoch, position) = Math.DivRem(step, stepsPerEpoch);
            if (position == 0)
                order = randperm(pairCount, generator: shuffling).to(model.Device);
            using var scope = NewDisposeScope();
            var start = position * options.BatchSize;
            var pairs = order![start..Math.Min(pairCount, start + options.BatchSize)];
            // Eq. 2 over the batch's images against their captions followed by every negative.
            var loss = ContrastiveLoss.Compute(ImageFeatures(pairs), TextFeatures(cat([pairs, negativeRows])), model.logit_scale);
            optimizer.zero_grad();
            loss.backward();
            // Checked before the update, so the parameters and the saved state stay the last finite ones.
            if (!stack(trainable.Select(parameter => parameter.grad).OfType<Tensor>().Select(gradient => isfinite(gradient).all()).Append(isfinite(loss))).all().item<bool>())
                throw new DivergenceException($"fine-tuning diverged at step {step + 1}: the loss is {loss.item<float>()} or a gradient is not finite" +
                                              (File.Exists(options.StatePath) ? $"; the last good state is {options.StatePath}" : ""));
            if (options.GradientClipNorm is { } maxNorm)
                nn.utils.clip_grad_norm_(trainable, maxNorm);
            optimizer.step();
            losses.Add(loss.item<float>());
            Progress?.Report(new FineTuneProgress(step + 1, totalSteps, epoch + 1, losses[^1]));
            if (options.SaveStateEvery > 0 && (step + 1) % options.SaveStateEvery == 0 && step + 1 < totalSteps)
                FineTuneState.Save(options.StatePath!, step + 1, trainable, optimizer, shuffling, order, losses, fingerprint);
        }
        lora?.Merge();
        return (losses, trainableCount);
    }

    private IReadOnlyList<Parameter> TrainableParameters(ClipModel model, Lora? lora, ConceptToken.TrainableRow? conceptRow)
    {
        IReadOnlyList<Parameter> Tower(params string[] prefixes) => model.named_parameters()
            .Where(entry => prefixes.Any(prefix => entry.name.StartsWith(prefix, StringComparison.Ordinal)))
            .Select(entry => entry.parameter).ToList();
        return options.Train switch
        {
            TrainMode.Image when lora is not null => lora.Parameters,
            TrainMode.Image => Tower("vision_model.", "visual_projection."),
            TrainMode.Text => Tower("text_model.", "text_projection."),
            TrainMode.Both => Tower("vision_model.", "visual_projection.", "text_model.", "text_projection."),
            _ => [conceptRow!.Row],
        };
    }

    private OptimizerHelper CreateOptimizer(IReadOnlyList<Parameter> trainable) => options.Optimizer switch
    {
        OptimizerKind.AdamW => optim.AdamW(trainable, options.LearningRate, beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: options.WeightDecay),
        _ => optim.Adam(trainable, options.LearningRate, beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: options.WeightDecay),
    };

    /// <summary>The images checked and normalized, on the model's device in its dtype.</summary>
    private static Tensor Pixels(ClipPipeline clip, FineTuneData data)
    {
        var images = data.Images;
        var size = clip.Model.Config.Vision.ImageSize;
        if (!images.is_floating_point() || images.dim() != 4 || images.shape[1] != 3 || images.shape[2] != size || images.shape[3] != size)
            throw new ArgumentException($"fine-tuning images must be floating point [N, 3, {size}, {size}] (the model's input size), got {images.dtype} [{string.Join(", ", images.shape)}]", nameof(data));
        if (images.shape[0] == 0 || images.shape[0] != data.Captions.Count)
            throw new ArgumentException($"fine-tuning needs one caption per image and at least one pair: got {images.shape[0]} images and {data.Captions.Count} captions", nameof(data));
        using var scope = NewDisposeScope();
        var pixels = images;
        if (!data.Normalized)
        {
            if (images.min().item<float>() < 0 || images.max().item<float>() > 1)
                throw new ArgumentException("fine-tuning images have values outside [0, 1]; mark already normalized pixels as Normalized", nameof(data));
            pixels = clip.ImageProcessor.Normalize(images.to(ScalarType.Float32));
        }
        // A copy even where nothing changes: the caller keeps its tensor, this one is disposed after training.
        return pixels.to(clip.Model.DType, clip.Model.Device, copy: true).DetachFromDisposeScope();
    }

    /// <summary>Lets exactly the trainable parameters require gradients while it lives, and then restores every
    /// parameter's flag.</summary>
    private sealed class GradientSwitch : IDisposable
    {
        private readonly List<(Parameter Parameter, bool RequiredGrad)> saved;

        public GradientSwitch(ClipModel model, IReadOnlyList<Parameter> trainable)
        {
            saved = model.parameters().Select(parameter => (parameter, parameter.requires_grad)).ToList();
            foreach (var (parameter, _) in saved) parameter.requires_grad = false;
            foreach (var parameter in trainable) parameter.requires_grad = true;
        }

        public void Dispose()
        {
            foreach (var (parameter, requiredGrad) in saved) parameter.requires_grad = requiredGrad;
        }
    }
}
