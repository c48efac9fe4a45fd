using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Knowledge Transfer end to end (Barbano et al. 2024): measure, invert the image encoder on each concept's
/// description (Eq. 3), fine-tune on (inverted image, caption) pairs (Eq. 2) under each configuration of the grid,
/// measure again, and keep the configuration with the largest gain whose forgetting stays within the bound.
///
/// The choice never reads a test image: it is made on a validation part of the real images, or on held-out inverted
/// images (<see cref="TrialSelection"/>), and every reported accuracy is on the test part. The noise control runs
/// the same grid on noise images and is chosen by the same rule on the same images, so it is as favoured by the
/// choice as the real run.</summary>
public sealed class ConceptLearner(LearnOptions options)
{
    public IProgress<string>? Progress { get; init; }

    public IProgress<InversionProgress>? InversionProgress { get; init; }

    /// <summary>Hears every fine-tuning step of every trial; a trial's first step follows its <see cref="Progress"/> message.</summary>
    public IProgress<FineTuneProgress>? FineTuneProgress { get; init; }

    /// <summary>TensorBoard: the inverted images, each trial's fine-tuning scalars under "{grid}/trialNN", and each
    /// trial's gain and forgetting on the selection images, plotted against the trial number.</summary>
    public TensorBoardLog? Log { get; init; }

    /// <param name="loadBase">Loads the model to teach, once, after every check that needs no model; each trial
    /// starts from an in-memory copy of it (<see cref="IVisionLanguageModel.Copy"/>).</param>
    /// <param name="inverted">Images inverted earlier from this model (<c>molyneux invert</c>) to use instead of
    /// inverting again: [concepts × n, 3, S, S] in [0, 1], concept by concept, image i of a concept inverted from
    /// <see cref="DescribedConcept.OfImage"/>; n is the inversion options' images per concept, plus the held-out
    /// images with <see cref="TrialSelection.Inverted"/>. The result owns it.</param>
    /// <param name="taught">The concepts fine-tuning teaches (indices; all by default): only their inverted images
    /// are trained on and only their gain chooses, while every concept is measured, so that the others show whether
    /// teaching one disturbs them.</param>
    /// <param name="concepts">The concepts to teach, with the real images that measure whether they were learnt.</param>
    /// <param name="reference">What the model already knows: measures forgetting and supplies distractors and negative captions.</param>
    public LearnResult Learn(Func<IVisionLanguageModel> loadBase, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference,
        InversionResult? inverted = null, IReadOnlyList<int>? taught = null)
    {
        var (checkedTaught, split) = Check(concepts, reference, taught);
        using var baseModel = loadBase();
        return Learn(baseModel, concepts, reference, inverted, checkedTaught, split, measuredBefore: null);
    }

    /// <summary>As the overload that loads, on a model already in memory, which stays as it was: the base, the trial
    /// being trained and the best trial so far are the only copies alive at any time.</summary>
    public LearnResult Learn(IVisionLanguageModel baseModel, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference,
        InversionResult? inverted = null, IReadOnlyList<int>? taught = null)
    {
        var (checkedTaught, split) = Check(concepts, reference, taught);
        return Learn(baseModel, concepts, reference, inverted, checkedTaught, split, measuredBefore: null);
    }

    /// <summary>Every check that needs no model, so that a bad request stops before the model loads.</summary>
    private (IReadOnlyList<int> Taught, RealImageSplit Split) Check(IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference, IReadOnlyList<int>? taught)
    {
        if (concepts.Count == 0) throw new OptionException("no concepts to learn");
        options.Validate();
        taught ??= Enumerable.Range(0, concepts.Count).ToList();
        if (taught.Count == 0 || taught.Any(c => c < 0 || c >= concepts.Count))
            throw new ArgumentException($"the taught concepts must be among the {concepts.Count} given, got [{string.Join(", ", taught)}]", nameof(taught));
        return (taught, Split(concepts, reference));
    }

    /// <param name="measuredBefore">The base model's outcomes on these concepts and reference, when an earlier run
    /// already measured them (<see cref="LearnEach(IVisionLanguageModel, IReadOnlyList{TeachableConcept}, ReferenceClasses, InversionResult?)"/>):
    /// the same model on the same images gives the same hits.</param>
    /// <param name="baseModel">The model to teach; each trial fine-tunes a copy of it.</param>
    /// <param name="concepts">The concepts to teach, with their real images.</param>
    /// <param name="reference">What the model already knows: measures forgetting and supplies distractors and negative captions.</param>
    /// <param name="inverted">Images inverted earlier to use instead of inverting again; null: inverted here.</param>
    /// <param name="taught">The concepts fine-tuning teaches (indices).</param>
    /// <param name="split">Which real images choose among configurations and which only report the chosen one.</param>
    private LearnResult Learn(IVisionLanguageModel baseModel, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference,
        InversionResult? inverted, IReadOnlyList<int> taught, RealImageSplit split, KnowledgeHits? measuredBefore)
    {
        var inversion = inverted;
        try
        {
            if (options.ReplayCaptions is not null) CaptionReplay.RequireCaptioner(baseModel);
            // The ordinary captions every trial replays (LearnOptions.ReplayCaptions), at the model's input size.
            using var replay = options.ReplayCaptions is { } replayFile ? CaptionReplay.Load(replayFile, baseModel.ImageSize) : null;
            var (trainModes, notes) = ApplicableModes(baseModel, concepts);
            foreach (var note in notes) Progress?.Report(note);
            var (perConcept, block) = (options.Inversion.ImagesPerConcept, InvertedPerConcept);
            if (inversion is null) (options.Inversion with { ImagesPerConcept = block }).Validate(baseModel);
            else RequireShape(inversion.Inverted, concepts.Count, block, baseModel.ImageSize);

            if (measuredBefore is null) Progress?.Report("measuring the model before");
            var beforeHits = measuredBefore ?? Measure(baseModel, concepts, reference);
            inversion ??= Invert(baseModel, concepts);
            using var training = cat(taught.Select(c => Rows(inversion.Inverted, 1, block, 0, perConcept, c)).ToList(), 0);
            var heldOutConcepts = block == perConcept ? null : concepts.Select((concept, c) => concept with
            {
                RealImages = Rows(inversion.Inverted, 1, block, perConcept, block, c),
                ImageSources = null,
            }).ToList();
            var beforeSelection = SelectionView(split, beforeHits, heldOutConcepts is null ? null : Measure(baseModel, heldOutConcepts, reference, withReference: false));

            var grid = RunGrid("fine-tuning", baseModel, training, trainModes, concepts, taught, heldOutConcepts, reference, replay, split, beforeHits, beforeSelection, out var best);
            GridResult? noiseGrid = null;
            if (options.NoiseControl)
            {
                using var noise = rand(training.shape, generator: new Generator((ulong)options.Seed + 17));
                noiseGrid = RunGrid("noise control", baseModel, noise, trainModes, concepts, taught, heldOutConcepts, reference, replay, split, beforeHits, beforeSelection, out var noiseModel);
                noiseModel.Dispose();
            }
            foreach (var concept in heldOutConcepts ?? []) concept.RealImages.Dispose();
            return new LearnResult(options, concepts, reference, baseModel.Source, baseModel.Identity, split, beforeHits, beforeSelection, grid, noiseGrid, notes, inversion, best, taught);
        }
        catch
        {
            inversion?.Dispose();
            throw;
        }
    }

    /// <summary>Teaches each concept alone, as the paper's Table 1 does (<c>--per-concept</c>): the concepts are
    /// inverted once (each image is optimised on its own, so together equals one by one), then each concept gets a
    /// whole <see cref="Learn(Func{IVisionLanguageModel}, IReadOnlyList{TeachableConcept}, ReferenceClasses, InversionResult?, IReadOnlyList{int}?)"/> of its own from the base model, chosen on its own gain. Yields one result per concept,
    /// in order; dispose each before taking the next to hold one taught model at a time.</summary>
    public IEnumerable<LearnResult> LearnEach(Func<IVisionLanguageModel> loadBase, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference,
        InversionResult? inverted = null)
    {
        Check(concepts, reference, taught: null);
        using var baseModel = loadBase();
        foreach (var result in LearnEach(baseModel, concepts, reference, inverted)) yield return result;
    }

    /// <summary>As the overload that loads, on a model already in memory, which stays as it was.</summary>
    public IEnumerable<LearnResult> LearnEach(IVisionLanguageModel baseModel, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference,
        InversionResult? inverted = null)
    {
        if (concepts.Count == 0) throw new OptionException("no concepts to learn");
        options.Validate();
        var inversion = inverted;
        if (inversion is null)
        {
            ApplicableModes(baseModel, concepts);
            (options.Inversion with { ImagesPerConcept = InvertedPerConcept }).Validate(baseModel);
            inversion = Invert(baseModel, concepts);
        }
        using (inversion)
        {
            KnowledgeHits? before = null;
            for (var c = 0; c < concepts.Count; c++)
            {
                Progress?.Report($"teaching '{concepts[c].Name}' alone ({c + 1}/{concepts.Count})");
                var (taught, split) = Check(concepts, reference, [c]);
                var result = Learn(baseModel, concepts, reference, new InversionResult(inversion.Inverted.clone(), inversion.LossCurve, null), taught, split, before);
                before = result.BeforeHits;
                yield return result;
            }
        }
    }

    /// <summary>Inverted images per concept: those fine-tuned on, and those held out to choose on.</summary>
    private int InvertedPerConcept => options.Inversion.ImagesPerConcept + (options.Selection == TrialSelection.Inverted ? options.HeldOutInvertedPerConcept : 0);

    /// <summary>Eq. 3 for every image of every concept, concept by concept.</summary>
    private InversionResult Invert(IVisionLanguageModel baseModel, IReadOnlyList<TeachableConcept> concepts)
    {
        var perConcept = options.Inversion.ImagesPerConcept;
        var heldOut = InvertedPerConcept - perConcept;
        Progress?.Report($"inverting the image encoder: {concepts.Count} concepts × {perConcept} images" +
                         (heldOut > 0 ? $" (and {heldOut} held out to choose on)" : "") + $", {options.Inversion.Steps} steps");
        using var targets = baseModel.EncodeTexts(DescribedConcept.OfImages(concepts.Select(concept => concept.Descriptions), InvertedPerConcept));
        var result = Inversion.Run(baseModel, targets, options.Inversion with { ImagesPerConcept = InvertedPerConcept }, progress: InversionProgress);
        Log?.Images("inversion/images", result.Inverted, options.Inversion.Steps);
        return result;
    }

    private static void RequireShape(Tensor images, int concepts, int perConcept, int imageSize)
    {
        if (images.dim() != 4 || images.shape[0] != concepts * perConcept || images.shape[1] != 3 || images.shape[2] != imageSize || images.shape[3] != imageSize)
            throw new OptionException($"the inverted images are [{string.Join(", ", images.shape)}], but {concepts} concepts × {perConcept} images " +
                                      $"at the model's {imageSize} px need [{concepts * perConcept}, 3, {imageSize}, {imageSize}]");
    }

    /// <summary>Splits the real images as the selection needs, before any work, so a concept that cannot be split
    /// stops the run at once.</summary>
    private RealImageSplit Split(IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference) => options.Selection switch
    {
        TrialSelection.Validation => RealImageSplit.Create(concepts.Select(c => (c.Name, (int)c.RealImages.shape[0])).ToList(),
            reference.Labels.Count, options.ValidationFraction, options.Seed),
        _ => RealImageSplit.TestOnly(concepts.Select(c => (int)c.RealImages.shape[0]).ToList(), reference.Labels.Count,
            options.ValidationFraction, options.Seed, splitReference: options.Selection == TrialSelection.Inverted),
    };

    /// <summary>The grid's training modes that apply to this model and these names. Token mode adds each name as one
    /// token of a CLIP vocabulary (a name of several words too, as a placeholder): asked for alone on a name that
    /// cannot be one, or on another kind of model, it stops the run before any work; in a larger grid it is left out,
    /// and the note says why.</summary>
    private (IReadOnlyList<TrainMode> Modes, IReadOnlyList<string> Notes) ApplicableModes(IVisionLanguageModel model, IReadOnlyList<TeachableConcept> concepts)
    {
        if (options.FineTune.Lora is not null && model is not ClipPipeline)
            throw new OptionException($"--lora: adapts CLIP's attention layers; this model is a {model.Architecture[0].Value}");
        if (options.TrainModes.Contains(TrainMode.ImageAndDecoder) && model is not ICaptioningModel)
            throw new OptionException($"--train image+decoder trains a captioner's text decoder; this model is a {model.Architecture[0].Value}, which has none");
        if (!options.TrainModes.Contains(TrainMode.Token)) return (options.TrainModes, []);
        string? problem = null;
        if (model is not ClipPipeline) problem = $"token mode needs a CLIP model (it adds a row to CLIP's token embedding); this model is a {model.Architecture[0].Value}";
        else if (concepts.Where(concept => !Tokenization.ClipTokenizer.CanAddWord(concept.Name)).Select(concept => $"\"{concept.Name}\"").ToList() is { Count: > 0 } names)
            problem = $"token mode adds each name as one token, and {string.Join(", ", names)} cannot be one (no text, or a special token)";
        if (problem is null) return (options.TrainModes, []);
        var remaining = options.TrainModes.Where(mode => mode != TrainMode.Token).ToList();
        if (remaining.Count == 0) throw new OptionException($"--train token: {problem}");
        return (remaining, [$"left --train token out of the grid: {problem}"]);
    }

    /// <summary>Every configuration of the grid fine-tuned on <paramref name="images"/>, measured, and the best chosen on
    /// the selection images; <paramref name="best"/> is the chosen trial's model. A configuration that diverges or does
    /// not apply is recorded as failed and the grid goes on.</summary>
    private GridResult RunGrid(string label, IVisionLanguageModel baseModel, Tensor images, IReadOnlyList<TrainMode> trainModes,
        IReadOnlyList<TeachableConcept> concepts, IReadOnlyList<int> taught, IReadOnlyList<TeachableConcept>? heldOutConcepts, ReferenceClasses reference,
        CaptionReplay? replay, RealImageSplit split, KnowledgeHits beforeHits, KnowledgeMeasurement beforeSelection, out IVisionLanguageModel best)
    {
        var trials = new List<TrialResult>();
        var failed = new List<FailedTrial>();
        IVisionLanguageModel? kept = null;
        TrialResult? chosen = null;
        // λ2 is a dimension of the grid only for a model that writes captions.
        IReadOnlyList<double?> captionWeights = baseModel is ICaptioningModel ? options.CaptionWeights.Select(weight => (double?)weight).ToList() : [null];
        var configurations = (from train in trainModes from rate in options.LearningRates from weight in options.DistillWeights from caption in captionWeights
                              select new TrialConfiguration(train, rate, train == TrainMode.Token ? 0 : weight, caption)).Distinct().ToList();
        foreach (var (index, configuration) in configurations.Index())
        {
            Progress?.Report($"{label} {index + 1}/{configurations.Count}: {configuration}");
            var (grid, trialTag) = (label.Replace(' ', '_'), $"{label.Replace(' ', '_')}/trial{index + 1:D2}");
            Log?.Text(trialTag, configuration.ToString());
            var model = baseModel.Copy();
            try
            {
                var losses = FineTune(model, images, taught.Select(c => concepts[c]).ToList(), reference, replay, configuration,
                    Log?.Recording(trialTag, FineTuneProgress) ?? FineTuneProgress);
                var hits = Measure(model, concepts, reference);
                var selection = SelectionView(split, hits, heldOutConcepts is null ? null : Measure(model, heldOutConcepts, reference, withReference: false));
                var forgetting = selection.ForgettingSince(beforeSelection);
                var bound = selection.ReferenceCiderD is null ? options.ForgettingBound : options.CaptionForgettingBound;
                var trial = new TrialResult(configuration, hits, selection, hits.On(split.ConceptTest, split.ReferenceTest),
                    taught.Average(c => selection.Concepts[c].Target - beforeSelection.Concepts[c].Target), forgetting, forgetting <= bound + 1e-12, losses);
                trials.Add(trial);
                Log?.Scalar($"{grid}/selection_gain", trial.TargetGain, index + 1);
                Log?.Scalar($"{grid}/selection_forgetting", trial.Forgetting, index + 1);
                if (chosen is null || Better(trial, chosen))
                {
                    kept?.Dispose();
                    (kept, chosen) = (model, trial);
                    continue;
                }
            }
            catch (Exception problem) when (problem is DivergenceException or OptionException or TokenizerException)
            {
                failed.Add(new FailedTrial(configuration, problem.Message));
                Progress?.Report($"{label} {index + 1}/{configurations.Count} failed: {problem.Message}");
            }
            model.Dispose();
        }
        if (chosen is null)
            throw new OptionException($"{label}: every configuration failed; the first: {failed[0].Configuration}: {failed[0].Reason}");
        best = kept!;
        return new GridResult(chosen, trials, failed);
    }

    /// <summary>Within the bound beats outside it; then the larger gain; outside the bound, the smaller forgetting.</summary>
    private static bool Better(TrialResult candidate, TrialResult current) =>
        candidate.WithinBound != current.WithinBound
            ? candidate.WithinBound
            : candidate.WithinBound ? candidate.TargetGain > current.TargetGain : candidate.Forgetting < current.Forgetting;

    /// <summary>What the choice may read: the validation images; or the held-out inverted images with the reference
    /// set's validation part; or, with no choice to make, the test images.</summary>
    private KnowledgeMeasurement SelectionView(RealImageSplit split, KnowledgeHits real, KnowledgeHits? heldOut) => options.Selection switch
    {
        TrialSelection.Validation => real.On(split.ConceptValidation, split.ReferenceValidation),
        TrialSelection.Inverted => new KnowledgeMeasurement(
            heldOut!.On(heldOut.Concepts.Select(concept => Enumerable.Range(0, concept.ByName.Length).ToArray()).ToList(), []).Concepts,
            real.On(split.ConceptTest, split.ReferenceValidation).ReferenceTop1),
        _ => real.On(split.ConceptTest, split.ReferenceTest),
    };

    private IReadOnlyList<double> FineTune(IVisionLanguageModel model, Tensor images, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference,
        CaptionReplay? replay, TrialConfiguration configuration, IProgress<FineTuneProgress>? progress)
    {
        var fineTune = options.FineTune with
        {
            Train = configuration.Train, LearningRate = configuration.LearningRate, DistillWeight = configuration.DistillWeight, Seed = options.Seed,
            CaptionWeight = configuration.CaptionWeight ?? options.FineTune.CaptionWeight,
        };
        var perConcept = options.Inversion.ImagesPerConcept;
        var captioned = concepts.Select(concept => new CaptionedConcept(concept.Name,
            DescribedConcept.OfImages([concept.Descriptions], perConcept))).ToList();
        return ConceptFineTuning.Run(model, images, captioned, ConceptFineTuning.Negatives(reference, seed: options.Seed), fineTune, options.Caption, progress,
            replay: replay);
    }

    /// <summary>Rows [from, to) of each of <paramref name="count"/> consecutive blocks of <paramref name="block"/>
    /// images, starting at block <paramref name="first"/>, as a new tensor.</summary>
    private static Tensor Rows(Tensor images, int count, int block, int from, int to, int first = 0) =>
        images.index_select(0, tensor(Enumerable.Range(first, count).SelectMany(c => Enumerable.Range(c * block + from, to - from)).Select(i => (long)i).ToArray()));

    /// <summary>Per image, whether the top-1 is right: by name and by description among the concepts and the
    /// distractors, by name among the concepts and every reference class; and on the reference set, unless
    /// <paramref name="withReference"/> is off. A captioner (<see cref="ICaptioningModel"/>) also captions every
    /// image greedily: whether a concept's captions name it, and the CIDEr-D of the reference images' captions when
    /// the reference set has captions.</summary>
    public KnowledgeHits Measure(IVisionLanguageModel model, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference, bool withReference = true)
    {
        using var scope = NewDisposeScope();
        var images = cat(concepts.Select(concept => concept.RealImages).ToList(), 0);
        var labels = concepts.SelectMany((concept, index) => Enumerable.Repeat(index, (int)concept.RealImages.shape[0])).ToList();
        var starts = concepts.Select(concept => (int)concept.RealImages.shape[0]).Prepend(0).ToList();
        for (var c = 1; c < starts.Count; c++) starts[c] += starts[c - 1];
        var distractors = Distractors(reference);
        // Encoded once for the three questions asked about them.
        var features = ZeroShotProbe.Encode(model, images);
        IReadOnlyList<string> ConceptPrompt(TeachableConcept concept) => [options.NameTemplate.Replace("{}", concept.Name, StringComparison.Ordinal)];

        IReadOnlyList<bool[]> PerConcept(IReadOnlyList<int> referenceClasses, Func<TeachableConcept, IReadOnlyList<string>> prompts)
        {
            var names = concepts.Select(c => c.Name).Concat(referenceClasses.Select(r => reference.Names[r])).ToList();
            var promptsPerClass = concepts.Select(prompts).Concat(referenceClasses.Select(r => reference.PromptsPerClass[r])).ToList();
            var predictions = new ZeroShotProbe("concepts", images, labels, names, promptsPerClass).Measure(model, imageFeatures: features).Predictions;
            return concepts.Select((_, c) => Enumerable.Range(starts[c], starts[c + 1] - starts[c]).Select(i => predictions[i] == c).ToArray()).ToList();
        }

        var byName = PerConcept(distractors, ConceptPrompt);
        var byDescription = PerConcept(distractors, concept => concept.Descriptions);
        var allClasses = PerConcept(Enumerable.Range(0, reference.Names.Count).ToList(), ConceptPrompt);
        var referenceHits = withReference
            ? new ZeroShotProbe("reference", reference.Images, reference.Labels, reference.Names, reference.ReferencePrompts).Measure(model).Predictions
                .Select((predicted, i) => predicted == reference.Labels[i]).ToArray()
            : [];
        var captioner = model as ICaptioningModel;
        var captions = captioner?.Caption(model.Normalize(images));
        var referenceCaptions = captioner is not null && withReference && reference.Captions is not null ? captioner.Caption(model.Normalize(reference.Images)) : null;
        var referenceCider = referenceCaptions is null ? null
            : Captioning.CaptionMetrics.Compute(referenceCaptions.Select((caption, i) => new Captioning.GeneratedCaption(caption, reference.Captions![i])).ToList())
                .CiderD.PerCaption.ToArray();
        return new KnowledgeHits(concepts.Select((concept, c) => new ConceptHits(concept.Name, byName[c], byDescription[c], allClasses[c],
            captions?.Skip(starts[c]).Take(starts[c + 1] - starts[c]).ToList())).ToList(), referenceHits, referenceCaptions, referenceCider);
    }

    /// <summary>A fixed, seeded choice of reference classes to stand beside the concepts.</summary>
    private IReadOnlyList<int> Distractors(ReferenceClasses reference)
    {
        var count = Math.Min(options.Distractors, reference.Names.Count);
        return randperm(reference.Names.Count, generator: new Generator((ulong)options.Seed + 101)).data<long>()
            .Take(count).Select(i => (int)i).Order().ToList();
    }
}
