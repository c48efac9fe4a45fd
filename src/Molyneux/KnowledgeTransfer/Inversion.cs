using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Training;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Model inversion, the first half of Knowledge Transfer (Barbano et al., 2024): synthesise images of a
/// concept the model may never have seen from its description alone. Eq. 3:
/// x* = argmax_x cos(f_V(A(x)), f_T(description)) − α·R_TV(x), with x pixels in [0, 1] starting from uniform noise,
/// A a random affine augmentation averaged over several copies, f_V the frozen image tower and f_T the frozen text
/// tower, following Kazemi et al.'s CLIP inversion: Adam, gradient clipping, clamping to [0, 1] after each step,
/// optionally progressive resolution. (Both reference scripts minimise ‖f_V/‖f_V‖ − f_T/‖f_T‖‖₂ = √(2 − 2 cos), a
/// monotone function of the cosine with the same optimum; the loss here is Eq. 3's, −cos + α·R_TV.) Many images and
/// concepts are optimised as one batch, each image against its own target. With <see cref="InversionOptions.Partial"/>, token features inside the image tower are optimised instead
/// (Eq. 4).</summary>
public static class Inversion
{
    /// <summary>Inverts <see cref="InversionOptions.ImagesPerConcept"/> images per description; images of
    /// description c come at rows c·ImagesPerConcept onwards.</summary>
    public static InversionResult Run(IVisionLanguageModel model, IReadOnlyList<string> descriptions, InversionOptions options,
        InversionState? resumeFrom = null, IProgress<InversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (descriptions.Count == 0)
            throw new OptionException("inversion: no concept descriptions given");
        using var texts = model.EncodeTexts(descriptions);
        using var targets = texts.repeat_interleave(options.ImagesPerConcept, 0);
        return Run(model, targets, options, resumeFrom, progress, cancellationToken);
    }

    /// <summary>Inverts one image (or token-feature set) per row of <paramref name="targets"/> [N, D], the
    /// unnormalised text features each should match; from <paramref name="resumeFrom"/> if given, which must come
    /// from the same options and targets.</summary>
    public static InversionResult Run(IVisionLanguageModel model, Tensor targets, InversionOptions options,
        InversionState? resumeFrom = null, IProgress<InversionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate(model);
        if (targets.dim() != 2 || targets.shape[0] == 0 || targets.shape[1] != model.EmbeddingSize)
            throw new OptionException($"inversion: targets must be [N, {model.EmbeddingSize}] with N > 0, got [{string.Join(", ", targets.shape)}]");
        var imageSize = model.ImageSize;
        var stages = options.ResolvedResolutions(imageSize);
        var fingerprint = options.Fingerprint(imageSize);
        IInversionObjective objective = options.Partial is { } partial
            ? new FeatureObjective(PartialInversionOptions.Clip(model).Model, partial)
            : new PixelObjective(model, options);
        var weight = options.Partial?.StatisticsWeight ?? options.TotalVariationWeight;
        var count = targets.shape[0];
        var device = model.Device.Device;

        // Tensors that live across steps belong to this scope; each step has its own inside it.
        using var runScope = NewDisposeScope();
        using var generator = new Generator((ulong)options.Seed, CPU);
        var normalizedTargets = normalize(targets.to(ScalarType.Float32), dim: -1).cpu();
        var targetsOnDevice = normalizedTargets.to(device);
        var curve = new List<InversionStepLoss>();
        Tensor inverted, firstMoment, secondMoment;
        if (resumeFrom is null)
        {
            inverted = objective.Initial(count, stages[0].Size, generator).to(ScalarType.Float32).to(device);
            (firstMoment, secondMoment) = (zeros_like(inverted), zeros_like(inverted));
        }
        else
        {
            if (resumeFrom.Fingerprint != fingerprint)
                throw new OptionException($"inversion: the saved state ran under other settings ({resumeFrom.Fingerprint}) than these ({fingerprint})");
            if (!resumeFrom.Targets.shape.SequenceEqual(normalizedTargets.shape) || !resumeFrom.Targets.allclose(normalizedTargets, rtol: 0, atol: 0))
                throw new OptionException("inversion: the saved state was optimised toward other targets");
            generator.set_state(resumeFrom.GeneratorState);
            curve.AddRange(resumeFrom.LossCurve);
            inverted = resumeFrom.Inverted.to(device, copy: true);
            firstMoment = resumeFrom.FirstMoment.to(device, copy: true);
            secondMoment = resumeFrom.SecondMoment.to(device, copy: true);
        }

        // Only the optimised tensor gets gradients, not the weights.
        using var frozen = new RequiresGradScope(model.Module, []);
        var loop = new StepLoop("inversion", options.Steps) { SaveEvery = options.SaveStateEvery, StatePath = options.StatePath };
        loop.Run(resumeFrom?.Step ?? 0, step =>
        {
            var stage = stages.Count(s => s.FromStep <= step) - 1;
            var (stageStart, stageEnd) = (stages[stage].FromStep, stage + 1 < stages.Count ? stages[stage + 1].FromStep : options.Steps);
            if (step == stageStart && step > 0)
            {
                // A new resolution: resize, and restart Adam (the references build a new optimizer here).
                Replace(ref inverted, objective.Resize(inverted, stages[stage].Size));
                Replace(ref firstMoment, zeros_like(inverted));
                Replace(ref secondMoment, zeros_like(inverted));
            }
            var learningRate = options.CosineAnnealing
                ? options.MinLearningRate + (options.LearningRate - options.MinLearningRate)
                  * (1 + Math.Cos(Math.PI * (step - stageStart) / (stageEnd - stageStart))) / 2
                : options.LearningRate;

            var variable = inverted.detach().requires_grad_(true);
            var (cosine, regularizer) = objective.Evaluate(variable, targetsOnDevice, generator);
            var loss = regularizer.Times(weight) - cosine;  // per image: the negated objective of Eq. 3 (or Eq. 4)
            var gradient = autograd.grad([loss.sum()], [variable])[0];
            loop.RequireFinite(step, isfinite(loss).all() & isfinite(gradient).all(), "the loss or its gradient");
            ClipPerImage(gradient, options.MaxGradientNorm);
            Adam.Update(inverted, gradient, firstMoment, secondMoment, step - stageStart + 1, learningRate);
            objective.Project(inverted);

            var means = stack([cosine.mean(), regularizer.mean(), loss.mean()]).to(ScalarType.Float64).cpu().data<double>().ToArray();
            var point = new InversionStepLoss(step + 1, means[0], means[1], means[2], learningRate);
            curve.Add(point);
            progress?.Report(new InversionProgress(point, options.Steps, stages[stage].Size));
        }, save: done =>
        {
            using var state = new InversionState(done, inverted.cpu(), firstMoment.cpu(), secondMoment.cpu(),
                generator.get_state(), normalizedTargets.alias(), [.. curve], fingerprint);
            state.Save(options.StatePath!);
        }, cancellationToken);
        return new InversionResult(inverted.cpu().DetachFromDisposeScope(), curve, options.Partial?.Layer);
    }

    /// <summary>Scales each image's gradient down to at most <paramref name="maxNorm"/> in L2 norm, with
    /// torch.nn.utils.clip_grad_norm_'s coefficient max_norm / (norm + 1e-6).</summary>
    private static void ClipPerImage(Tensor gradient, double maxNorm)
    {
        using var scope = NewDisposeScope();
        var norms = linalg.vector_norm(gradient.flatten(1), 2, [1]);
        var coefficient = norms.Plus(1e-6).reciprocal().Times(maxNorm).AtMost(1);
        gradient.mul_(coefficient.view([-1, .. Enumerable.Repeat(1L, (int)gradient.dim() - 1)]));
    }

    /// <summary>Swaps a tensor that lives across steps for one made inside a step's dispose scope.</summary>
    private static void Replace(ref Tensor held, Tensor replacement)
    {
        held.Dispose();
        held = replacement.MoveToOuterDisposeScope();
    }
}

/// <summary>What is optimised and how it is scored; <see cref="Inversion"/> runs the loop around it.</summary>
internal interface IInversionObjective
{
    /// <summary>The starting point for <paramref name="count"/> targets at <paramref name="size"/> (CPU).</summary>
    Tensor Initial(long count, int size, Generator generator);

    /// <summary>Per row: cosine to its target (normalised, [N, D]) and the regulariser, both [N], differentiable.</summary>
    (Tensor Cosine, Tensor Regularizer) Evaluate(Tensor inverted, Tensor targets, Generator generator);

    /// <summary>Brings the tensor back to its valid set after an update, in place.</summary>
    void Project(Tensor inverted);

    /// <summary>The tensor at another resolution.</summary>
    Tensor Resize(Tensor inverted, int size);
}

/// <summary>Eq. 3 over pixels [N, 3, S, S] in [0, 1].</summary>
internal sealed class PixelObjective(IVisionLanguageModel model, InversionOptions options) : IInversionObjective
{
    private readonly RandomAffine augmentation = new(options.Augmentation);
    private readonly int imageSize = model.ImageSize;

    public Tensor Initial(long count, int size, Generator generator) => rand([count, 3, size, size], generator: generator);

    public (Tensor Cosine, Tensor Regularizer) Evaluate(Tensor pixels, Tensor targets, Generator generator)
    {
        using var scope = NewDisposeScope();
        var copies = options.AugmentedCopies;
        // A(x): each image repeated, each copy warped on its own, then brought to the model's size.
        var augmented = augmentation.Apply(pixels.repeat_interleave(copies, 0), generator);
        if (augmented.shape[^1] != imageSize)
            augmented = interpolate(augmented, [imageSize, imageSize], mode: InterpolationMode.Bicubic, align_corners: false);
        var features = model.ImageFeatures(model.Normalize(augmented).to(model.Device.DType)).to(ScalarType.Float32);
        var cosine = (normalize(features, dim: -1) * targets.repeat_interleave(copies, 0)).sum(-1).view(-1, copies).mean([1]);
        var totalVariation = TotalVariation.PerImage(pixels, options.TotalVariationForm);
        return (cosine.MoveToOuterDisposeScope(), totalVariation.MoveToOuterDisposeScope());
    }

    public void Project(Tensor pixels)
    {
        using var _ = no_grad();
        pixels.ClampInPlace(0, 1);
    }

    public Tensor Resize(Tensor pixels, int size)
    {
        using var _ = no_grad();
        return interpolate(pixels, [size, size], mode: InterpolationMode.Bicubic, align_corners: false).ClampInPlace(0, 1);
    }
}
