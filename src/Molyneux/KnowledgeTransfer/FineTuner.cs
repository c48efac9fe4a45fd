using System.Diagnostics;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>What fine-tuning learns from: N images with one caption each (for Knowledge Transfer, images inverted
/// from the concept's description, captioned by <see cref="ConceptCaptions"/>), and negative captions that every
/// step contrasts them with.</summary>
/// <param name="Images">[N, 3, S, S], S the model's image size: pixels in [0, 1], as inversion produces them, or
/// already normalized with the model's mean and std when <paramref name="Normalized"/> is set; with
/// <paramref name="FromLayer"/>, the token states [N, tokens, width] that enter that layer of a CLIP's vision encoder
/// (partial inversion's features), and only the layers from it on can learn.</param>
/// <param name="Captions">One caption per image: the text each image is contrasted towards.</param>
/// <param name="Negatives">Captions of other things that every step contrasts the images with, so that the concept stays distinct.</param>
/// <param name="Normalized">Whether <paramref name="Images"/> are already normalized with the model's mean and std.</param>
/// <param name="FromLayer">The vision encoder layer the features of <paramref name="Images"/> enter; null: they are images.</param>
public sealed record FineTuneData(Tensor Images, IReadOnlyList<string> Captions, IReadOnlyList<string> Negatives, bool Normalized = false, int? FromLayer = null)
{
    /// <summary>A captioner's ordinary images and captions, replayed at every step with the captioning loss
    /// (<see cref="CaptionReplay"/>); null: none.</summary>
    public CaptionReplay? Replay { get; init; }
}

public readonly record struct FineTuneProgress(int Step, int TotalSteps, int Epoch, double Loss, double LearningRate) : IStepScalars
{
    /// <inheritdoc/>
    public IEnumerable<(string Tag, double Value)> Scalars() => [("loss", Loss), ("lr", LearningRate), ("epoch", Epoch)];
}

/// <param name="Losses">The loss of every step, in order (the loss curve).</param>
/// <param name="Token">The concept token token mode added, else null.</param>
/// <param name="Elapsed">The whole run, setup (encoding a frozen tower's features) included.</param>
/// <param name="TrainableParameters">How many parameters training updated (LoRA's, a tower's, or the concept token's embedding).</param>
public sealed record FineTuneResult(IReadOnlyList<double> Losses, long TrainableParameters, TimeSpan Elapsed, ConceptToken? Token);

/// <summary>Knowledge Transfer's second stage (Barbano et al. 2024): fine-tunes a model with a contrastive loss
/// (Eq. 2, or CLIP's symmetric form) on (image, caption) pairs, each step taking a batch of pairs plus every negative caption,
/// plus, for a captioner (<see cref="ICaptioningModel"/>), <see cref="FineTuneOptions.CaptionWeight"/> times the
/// captioning loss of the pairs (Eq. 5–6), plus
/// <see cref="FineTuneOptions.DistillWeight"/> times <see cref="FeatureDistillation"/>'s drift from the frozen model. The pipeline is
/// trained in place; afterwards <see cref="IVisionLanguageModel.WriteModelFiles"/> saves it in its own layout (a CLIP as
/// an ordinary HF checkpoint, in token mode with the concept's name in its vocabulary; a CoCa as an open_clip folder).
///
/// Only the trainable parameters (<see cref="FineTuneOptions.Train"/>) require gradients and reach the optimiser.
/// A frozen tower's features cannot change, so they are encoded once before the first step rather than every step.</summary>
public sealed class FineTuner(FineTuneOptions options)
{
    public IProgress<FineTuneProgress>? Progress { get; init; }

    /// <summary>Trains <paramref name="model"/> in place and marks its weights as changed
    /// (<see cref="IVisionLanguageModel.WeightsChanged"/>). LoRA and token mode reach into a CLIP's layers and
    /// vocabulary, so they need a <see cref="ClipPipeline"/>. In token mode the concept token is added first, so it stays added
    /// even when training then fails, for instance because no caption contains the word.</summary>
    /// <param name="resumeFrom">A state an earlier run with the same options and data saved
    /// (<see cref="FineTuneOptions.SaveStateEvery"/>), to continue from: the result equals the uninterrupted run's.</param>
    /// <param name="model">The model to train, in place.</param>
    /// <param name="data">The images, their captions and the negative captions to learn from.</param>
    public FineTuneResult Run(IVisionLanguageModel model, FineTuneData data, FineTuneState? resumeFrom = null)
    {
        options.Validate();
        var clip = model as ClipPipeline;
        if (clip is null && (options.Train == TrainMode.Token || options.Lora is not null))
            throw new OptionException($"{(options.Lora is not null ? "LoRA" : "--train token")} needs a CLIP model (it reaches into CLIP's " +
                                      $"{(options.Lora is not null ? "attention layers" : "token embedding")}); this model is a {model.Architecture[0].Value}");
        if (options.Train == TrainMode.ImageAndDecoder && model is not ICaptioningModel)
            throw new OptionException($"--train image+decoder trains a captioner's text decoder; this model is a {model.Architecture[0].Value}, which has none");
        if (data.Replay is not null)
        {
            CaptionReplay.RequireCaptioner(model);
            if (options.CaptionWeight == 0) throw new OptionException(CaptionReplay.NeedsCaptioningLoss);
        }
        if (data.FromLayer is not null && (clip is null || options.Lora is not null))
            throw new OptionException(clip is null
                ? $"features from a vision encoder layer (partial inversion) enter a CLIP ViT; this model is a {model.Architecture[0].Value}"
                : "--lora adapts every attention layer of the image tower, but features from a layer pass through the layers above it only: train the weights instead");
        var clock = Stopwatch.StartNew();
        using var pixels = Pixels(model, data);
        if (data.Captions.Count + data.Negatives.Count < 2)
            throw new OptionException("fine-tuning needs at least two captions in all (pairs and negatives) for the contrastive loss to compare");
        var token = options.Train == TrainMode.Token ? ConceptToken.Add(clip!, options.TokenWord!) : null;
        var (losses, trainableCount) = Train(model, pixels, data, token, resumeFrom);
        model.WeightsChanged();
        return new FineTuneResult(losses, trainableCount, clock.Elapsed, token);
    }

    private (List<double> Losses, long TrainableCount) Train(IVisionLanguageModel model, Tensor pixels, FineTuneData data, ConceptToken? token, FineTuneState? resumeFrom)
    {
        // Every tensor set up for the run (ids, a frozen tower's features, permutations) is freed with this scope.
        using var setup = NewDisposeScope();
        var device = model.Device.Device;
        var dtype = model.Device.DType;
        using var lora = options.Lora is { } loraOptions ? Lora.Attach(((ClipPipeline)model).Model, loraOptions, options.Seed) : null;
        using var conceptRow = token?.Train(((ClipPipeline)model).Model);
        var trainable = TrainableParameters(model, lora, conceptRow, data.FromLayer);
        var trainableCount = trainable.Sum(parameter => parameter.numel());
        using var gradients = new RequiresGradScope(model.Module, trainable);
        using var optimizer = CreateOptimizer(options, trainable);

        var pairCount = data.Captions.Count;
        var texts = data.Captions.Concat(data.Negatives).ToList();
        var textIds = model.Tokenize(texts).to(device);
        if (token is not null && !textIds[..pairCount].EqualTo(token.Id).any().item<bool>())
            throw new OptionException($"--train token: no caption contains the word \"{token.Word}\", so its token would learn nothing");
        var trainsImage = options.Train is TrainMode.Image or TrainMode.Both or TrainMode.ImageAndDecoder;
        var trainsText = options.Train is TrainMode.Text or TrainMode.Both or TrainMode.Token;
        // Eq. 5–6: a captioner also learns to caption each image with its caption, weighted by λ2.
        var captioner = model as ICaptioningModel;
        var captionWeight = captioner is null ? 0 : options.CaptionWeight;
        var fromLayer = data.FromLayer;
        Tensor EncodeImages() => fromLayer is { } layer ? FrozenFromLayer((ClipPipeline)model, pixels, layer) : model.EncodePixels(pixels).to(dtype, device);
        var fixedImageFeatures = trainsImage ? null : EncodeImages();
        var fixedTextFeatures = trainsText ? null : model.EncodeTexts(texts).to(dtype, device);
        Tensor ImageFeatures(Tensor rows) => fixedImageFeatures?.index_select(0, rows) ?? (fromLayer is { } layer
            ? ((ClipPipeline)model).Model.GetImageFeaturesFromLayer(pixels.index_select(0, rows), layer)
            : model.ImageFeatures(pixels.index_select(0, rows)));
        Tensor TextFeatures(Tensor rows) => fixedTextFeatures?.index_select(0, rows) ?? model.TextFeatures(textIds.index_select(0, rows));
        // What the frozen model makes of the inputs distillation holds (FeatureDistillation says which), before any step.
        var distils = options.DistillWeight > 0 && options.Train != TrainMode.Token;
        var frozenImageFeatures = distils && trainsImage ? EncodeImages() : null;
        var frozenNegativeFeatures = distils && trainsText && data.Negatives.Count > 0 ? model.EncodeTexts(data.Negatives).to(dtype, device) : null;

        // The replayed images normalized and their captions tokenized once; a step takes its rows of them.
        var replay = data.Replay;
        var replayPixels = replay is null ? null : model.Normalize(replay.Images.to(ScalarType.Float32)).to(dtype, device);
        var replayIds = replay is null ? null : model.Tokenize(replay.Captions).to(device);

        var negativeRows = LiveScalars.Range(pairCount, texts.Count, device);
        var stepsPerEpoch = (pairCount + options.BatchSize - 1) / options.BatchSize;
        var totalSteps = options.Steps ?? options.Epochs * stepsPerEpoch;
        var shuffling = new Generator((ulong)options.Seed);
        Tensor? order = null;
        var losses = new List<double>(totalSteps);
        var fingerprint = options.Fingerprint(data);
        if (resumeFrom is not null)
        {
            resumeFrom.Restore(trainable, optimizer, shuffling, fingerprint);
            order = resumeFrom.Order.to(device, copy: true);
            losses.AddRange(resumeFrom.Losses);
        }
        var loop = new StepLoop("fine-tuning", totalSteps) { SaveEvery = options.SaveStateEvery, StatePath = options.StatePath };
        loop.Run(resumeFrom?.Step ?? 0, step =>
        {
            var (epoch, position) = Math.DivRem(step, stepsPerEpoch);
            if (position == 0)
            {
                order?.Dispose();
                order = randperm(pairCount, generator: shuffling).to(device).MoveToOuterDisposeScope();
            }
            var start = position * options.BatchSize;
            var pairs = order![start..Math.Min(pairCount, start + options.BatchSize)];
            // Eq. 2 over the batch's images against their captions followed by every negative.
            Tensor? captionLoss = null;
            Tensor imageFeatures;
            if (captionWeight > 0)
            {
                (imageFeatures, captionLoss) = captioner!.ImageFeaturesAndCaptionLoss(pixels.index_select(0, pairs), textIds.index_select(0, pairs));
                imageFeatures = fixedImageFeatures?.index_select(0, pairs) ?? imageFeatures;
            }
            else imageFeatures = ImageFeatures(pairs);
            var textFeatures = TextFeatures(cat([pairs, negativeRows]));
            var loss = ContrastiveLoss.Compute(imageFeatures, textFeatures, model.LogitScale, symmetric: options.Loss == FineTuneLoss.Symmetric);
            if (captionLoss is not null)
                loss = loss.Plus(captionLoss.Times(captionWeight));
            if (replay is not null)
            {
                using var rows = tensor(replay.Rows(step, (int)pairs.shape[0])).to(device);
                var (_, replayLoss) = captioner!.ImageFeaturesAndCaptionLoss(replayPixels!.index_select(0, rows), replayIds!.index_select(0, rows));
                loss = loss.Plus(replayLoss.Times(captionWeight));
            }
            if (frozenImageFeatures is not null)
                loss = loss.Plus(FeatureDistillation.Compute(imageFeatures, frozenImageFeatures.index_select(0, pairs)).Times(options.DistillWeight));
            if (frozenNegativeFeatures is not null)
                loss = loss.Plus(FeatureDistillation.Compute(textFeatures[(int)pairs.shape[0]..], frozenNegativeFeatures).Times(options.DistillWeight));
            optimizer.zero_grad();
            loss.backward();
            loop.RequireFinite(step, stack(trainable.Select(parameter => parameter.grad).OfType<Tensor>().Select(gradient => isfinite(gradient).all()).Append(isfinite(loss))),
                $"the loss ({loss.item<float>()}) or a gradient");
            if (options.GradientClipNorm is { } maxNorm)
                nn.utils.clip_grad_norm_(trainable, maxNorm);
            optimizer.step();
            losses.Add(loss.item<float>());
            Progress?.Report(new FineTuneProgress(step + 1, totalSteps, epoch + 1, losses[^1], optimizer.ParamGroups.First().LearningRate));
        }, save: done => FineTuneState.Save(options.StatePath!, done, trainable, optimizer, shuffling, order!, losses, fingerprint));
        lora?.Merge();
        return (losses, trainableCount);
    }

    /// <summary>What the mode trains; with features from a layer, the image side is the layers from it on.</summary>
    private IReadOnlyList<Parameter> TrainableParameters(IVisionLanguageModel model, Lora? lora, ConceptToken.TrainableRow? conceptRow, int? fromLayer)
    {
        IEnumerable<Parameter> Parts(params ModelPart[] parts) => parts.SelectMany(model.Parameters);
        var image = fromLayer is { } layer ? ((ClipPipeline)model).Model.ImageParametersFromLayer(layer) : Parts(ModelPart.ImageTower, ModelPart.ImageProjection);
        return options.Train switch
        {
            TrainMode.Image when lora is not null => lora.Parameters,
            TrainMode.Image => image.ToList(),
            TrainMode.Text => Parts(ModelPart.TextTower, ModelPart.TextProjection).ToList(),
            TrainMode.Both => image.Concat(Parts(ModelPart.TextTower, ModelPart.TextProjection)).ToList(),
            TrainMode.ImageAndDecoder => image.Concat(Parts(ModelPart.TextDecoder)).ToList(),
            _ => [conceptRow!.Row],
        };
    }

    /// <summary>The frozen model's image features of token states entering <paramref name="layer"/>.</summary>
    private static Tensor FrozenFromLayer(ClipPipeline clip, Tensor hiddenStates, int layer)
    {
        using var _ = no_grad();
        return clip.Model.GetImageFeaturesFromLayer(hiddenStates, layer);
    }

    /// <summary>Adam or AdamW with CLIP's β and ε; torch.optim.Adam's weight decay is the coupled (L2) kind.</summary>
    internal static OptimizerHelper CreateOptimizer(FineTuneOptions options, IReadOnlyList<Parameter> trainable) => options.Optimizer switch
    {
        OptimizerKind.AdamW => optim.AdamW(trainable, options.LearningRate, beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: options.WeightDecay),
        _ => optim.Adam(trainable, options.LearningRate, beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: options.WeightDecay),
    };

    /// <summary>The images checked and normalized (or the features checked), on the model's device in its dtype.</summary>
    private static Tensor Pixels(IVisionLanguageModel model, FineTuneData data)
    {
        var images = data.Images;
        if (data.FromLayer is { } layer)
            return Features(((ClipPipeline)model).Model, data, layer);
        var size = model.ImageSize;
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
            pixels = model.Normalize(images.to(ScalarType.Float32));
        }
        // A copy even where nothing changes: the caller keeps its tensor, this one is disposed after training.
        return pixels.to(model.Device.DType, model.Device.Device, copy: true).DetachFromDisposeScope();
    }

    private static Tensor Features(ClipModel model, FineTuneData data, int layer)
    {
        var (features, vision) = (data.Images, model.Config.Vision);
        if (layer < 0 || layer > vision.NumHiddenLayers)
            throw new OptionException($"the features enter layer {layer}, but the vision encoder has layers 0 to {vision.NumHiddenLayers}");
        var tokens = vision.GridSize * vision.GridSize + 1;
        if (!features.is_floating_point() || features.dim() != 3 || features.shape[1] != tokens || features.shape[2] != vision.HiddenSize)
            throw new ArgumentException($"features entering layer {layer} must be floating point [N, {tokens}, {vision.HiddenSize}] (the model's tokens and width), " +
                                        $"got {features.dtype} [{string.Join(", ", features.shape)}]", nameof(data));
        if (features.shape[0] == 0 || features.shape[0] != data.Captions.Count)
            throw new ArgumentException($"fine-tuning needs one caption per feature map and at least one pair: got {features.shape[0]} and {data.Captions.Count} captions", nameof(data));
        return features.to(model.DType, model.Device, copy: true).DetachFromDisposeScope();
    }
}
