using System.Text.Json;
using Molyneux.Asif;
using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Worlds.Emoji;

/// <summary>One point of a curve: a setting and the accuracies it gives.</summary>
public sealed record AsifCurvePoint(double Setting, double Top1, double Top5);

/// <summary>How centring was chosen when it was not given: top-1 on the validation split (anchors from the
/// pretraining styles but the last, its drawings classified among the same emoji), uncentred and centred; the
/// higher one (uncentred on a tie) is used on the test. The test style is never loaded for it.</summary>
public sealed record CentringChoice(double UncentredTop1, double CentredTop1, string ValidationStyle)
{
    public bool Centred => CentredTop1 > UncentredTop1;
}

/// <summary>What <see cref="EmojiAsifExperiment"/> measured; fractions in [0, 1].</summary>
/// <param name="ImageNeighbourAccuracy">How often a test image's most similar anchor image shows the same emoji: the
/// image encoder alone.</param>
/// <param name="TextNeighbourAccuracy">How often a prompt's most similar anchor caption belongs to its emoji: the
/// text encoder alone.</param>
/// <param name="Unknown">With a threshold calibrated on half the test images, the other half's outcome.</param>
/// <param name="OutOfSetUnknown">At that threshold, the fraction of the held-out concepts' images (no class of
/// theirs competes, so "unknown" is the right answer) answered "unknown".</param>
/// <param name="Anchors">Anchor pairs in the index the headline numbers use (the largest count).</param>
/// <param name="Centred">Whether both modalities were centred on the anchors' means.</param>
/// <param name="Centring">How that was chosen on the validation split; null when it was given.</param>
/// <param name="TestImages">Test images classified, each of one emoji.</param>
/// <param name="Classes">Emoji classes competing for every test image.</param>
/// <param name="Top1">Top-1 accuracy at the default settings (all anchors, default k and p, fp32).</param>
/// <param name="Top5">Top-5 accuracy at the default settings.</param>
/// <param name="Seconds">The whole experiment's wall-clock time, encoding included.</param>
/// <param name="ByAnchors">Accuracy over the number of anchors (nested random subsets): how much data ASIF needs.</param>
/// <param name="ByNonZeros">Accuracy over k, the similarities kept per relative representation.</param>
/// <param name="ByExponent">Accuracy over p, the exponent that sharpens the kept similarities.</param>
/// <param name="ByStorage">Accuracy by anchor storage ("fp32", "fp16", "int8"): what a smaller index costs.</param>
/// <param name="UnknownThreshold">The score below which an image is answered "unknown", calibrated on half the test images.</param>
public sealed record EmojiAsifResult(
    int Anchors, bool Centred, int TestImages, int Classes, double Top1, double Top5, double Seconds,
    double ImageNeighbourAccuracy, double TextNeighbourAccuracy,
    IReadOnlyList<AsifCurvePoint> ByAnchors, IReadOnlyList<AsifCurvePoint> ByNonZeros, IReadOnlyList<AsifCurvePoint> ByExponent,
    IReadOnlyDictionary<string, AsifCurvePoint> ByStorage, double UnknownThreshold, SelectiveOutcome Unknown, double OutOfSetUnknown,
    CentringChoice? Centring)
{
    /// <summary>The result as indented JSON with snake_case names, as <see cref="Save"/> writes it.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    });

    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson() + "\n");
}

/// <summary>ASIF's acceptance experiment on the emoji world (docs/asif.md): anchors are the pretraining split's
/// image–caption pairs (three vendors' drawings), the test is the held-out Twitter style of every pretrained emoji,
/// classified among all of them with the bare label as the prompt. Top-1/top-5 at ASIF's defaults, then the curves
/// over the number of anchors (nested random subsets), k and p, the cost of fp16 and int8 anchors, and an unknown
/// threshold calibrated on half the test images. Centring, unless given, is chosen on the validation split first
/// (<see cref="CentringChoice"/>); images and captions are encoded once for both.</summary>
public static class EmojiAsifExperiment
{
    public static readonly int[] AnchorCounts = [250, 500, 1000, 2000, 4000];
    public static readonly int[] NonZeroCounts = [5, 10, 25, 50, 100, 200, 400, 800, 1600, 3200];
    public static readonly double[] Exponents = [1, 2, 4, 6, 8, 12, 16];

    /// <param name="maxWrong">The unknown threshold's target: wrong answers allowed among answered calibration images.</param>
    /// <param name="splitOptions">The split (default: the standard one, as the encoders were trained on).</param>
    /// <param name="centre">Centre both modalities on the anchors' means (<see cref="AsifIndex.Build"/>); null: whichever
    /// does better on the validation split.</param>
    /// <param name="manifest">The installed emoji data set: its concepts, images and descriptions.</param>
    /// <param name="imageEncoder">Encodes the anchor and test images (a pretrained single-modality tower).</param>
    /// <param name="textEncoder">Encodes the anchor captions and the class prompts (a pretrained single-modality tower).</param>
    /// <param name="messages">Hears each stage as it starts (a long run); null: silent.</param>
    public static EmojiAsifResult Run(EmojiManifest manifest, IImageEncoder imageEncoder, ITextEncoder textEncoder,
        double maxWrong = 0.5, EmojiSplitOptions? splitOptions = null, IProgress<string>? messages = null, bool? centre = false)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var split = EmojiSplits.Split(manifest, splitOptions);
        var concepts = split.Pretrain.Select(sample => sample.Concept).DistinctBy(concept => concept.ShortName).ToList();
        var classOf = concepts.Select((concept, c) => (concept.ShortName, c)).ToDictionary(entry => entry.ShortName, entry => entry.c);
        var test = split.StyleTest.Where(sample => classOf.ContainsKey(sample.Concept.ShortName)).ToList();
        var labels = test.Select(sample => classOf[sample.Concept.ShortName]).ToList();
        var outOfSet = split.ConceptTest.Where(sample => split.Options.HeldOutStyles.Contains(sample.Style)).ToList();
        var anchorConcepts = split.Pretrain.Select(sample => classOf[sample.Concept.ShortName]).ToArray();
        using var images = new RememberingImageEncoder(imageEncoder);
        using var texts = new RememberingTextEncoder(textEncoder);
        using var prompts = texts.EncodeTexts(concepts.Select(concept => concept.Label).ToList());
        var defaults = new AsifOptions();

        var centring = centre is null ? ChooseCentring(manifest, split.Options, images, texts, prompts, classOf, defaults, messages) : null;
        var centred = centre ?? centring!.Centred;
        messages?.Report($"encoding {split.Pretrain.Count} anchor pairs");
        using var index = AsifIndex.Build(images, texts, Pairs(split.Pretrain), centre: centred);
        messages?.Report($"encoding {test.Count + outOfSet.Count} test images");
        using var testImages = images.EncodeImages(test.Select(sample => sample.ImagePath).ToList());
        using var outOfSetImages = images.EncodeImages(outOfSet.Select(sample => sample.ImagePath).ToList());

        var longest = NonZeroCounts.Max();
        var (imageValues, imageIndices) = RelativeRepresentation.TopSimilarities(testImages, index.ImageAnchors, longest, defaults.ChunkRows);
        var (promptValues, promptIndices) = RelativeRepresentation.TopSimilarities(prompts, index.TextAnchors, longest, defaults.ChunkRows);
        AsifCurvePoint Measure(double setting, AsifOptions options) =>
            Accuracy(setting, RelativeRepresentation.FromSimilarities(imageValues, imageIndices, index.Anchors.Count, options),
                RelativeRepresentation.FromSimilarities(promptValues, promptIndices, index.Anchors.Count, options), labels);

        messages?.Report("scoring at the defaults, and over k and p");
        var atDefaults = Measure(defaults.NonZeros, defaults);
        var byNonZeros = NonZeroCounts.Select(k => Measure(k, defaults with { NonZeros = k })).ToList();
        var byExponent = Exponents.Select(p => Measure(p, defaults with { Exponent = p })).ToList();

        messages?.Report("scoring with fewer anchors and with quantized anchors");
        var order = randperm(index.Anchors.Count, generator: new Generator(0)).data<long>().ToArray();
        var byAnchors = AnchorCounts.Where(count => count < index.Anchors.Count).Select(count =>
        {
            using var subset = index.Subset(order[..count]);
            return Score(count, subset, testImages, prompts, defaults, labels);
        }).Append(atDefaults with { Setting = index.Anchors.Count }).ToList();
        var byStorage = new[] { AnchorStorage.Fp16, AnchorStorage.Int8 }.ToDictionary(
            storage => storage.ToString().ToLowerInvariant(),
            storage =>
            {
                using var quantized = index.WithStorage(storage);
                return Score(defaults.NonZeros, quantized, testImages, prompts, defaults, labels);
            });
        byStorage["fp32"] = atDefaults;

        messages?.Report("calibrating an unknown threshold");
        var imageRows = RelativeRepresentation.FromSimilarities(imageValues, imageIndices, index.Anchors.Count, defaults);
        var promptRows = RelativeRepresentation.FromSimilarities(promptValues, promptIndices, index.Anchors.Count, defaults);
        using var scores = imageRows.Products(promptRows);
        var (best, correct) = AsifEvaluation.BestAndCorrect(scores.data<float>().ToArray(), concepts.Count, labels);
        var calibration = Enumerable.Range(0, test.Count).Where(i => i % 2 == 0).ToList();
        var evaluation = Enumerable.Range(0, test.Count).Where(i => i % 2 == 1).ToList();
        var threshold = UnknownAnswer.Calibrate(calibration.Select(i => best[i]).ToList(), calibration.Select(i => correct[i]).ToList(), maxWrong);
        var unknown = UnknownAnswer.Measure(threshold, evaluation.Select(i => best[i]).ToList(), evaluation.Select(i => correct[i]).ToList());
        using var outOfSetScores = RelativeRepresentation.Compute(outOfSetImages, index.ImageAnchors, defaults).Products(promptRows);
        var outOfSetBest = outOfSetScores.amax([1]).data<float>().ToArray();

        using var imageNearest = imageIndices[.., 0].contiguous();
        using var promptNearest = promptIndices[.., 0].contiguous();
        var imageNeighbour = imageNearest.data<long>().ToArray().Select((anchor, i) => anchorConcepts[anchor] == labels[i]).Average(hit => hit ? 1.0 : 0.0);
        var textNeighbour = promptNearest.data<long>().ToArray().Select((anchor, c) => anchorConcepts[anchor] == c).Average(hit => hit ? 1.0 : 0.0);
        return new EmojiAsifResult(index.Anchors.Count, centred, test.Count, concepts.Count, atDefaults.Top1, atDefaults.Top5, clock.Elapsed.TotalSeconds,
            imageNeighbour, textNeighbour, byAnchors, byNonZeros, byExponent, byStorage, threshold, unknown,
            outOfSetBest.Average(score => score < threshold ? 1.0 : 0.0), centring);
    }

    private static List<AnchorPair> Pairs(IEnumerable<EmojiSample> samples) => samples.Select(sample => new AnchorPair(sample.ImagePath, sample.Caption)).ToList();

    /// <summary>Top-1 at ASIF's defaults on the validation split (<see cref="EmojiSplitOptions.ForValidation"/>), with
    /// and without centring: its anchors are the pretraining pairs of every style but the last, whose drawings are
    /// classified among the same emoji.</summary>
    private static CentringChoice ChooseCentring(EmojiManifest manifest, EmojiSplitOptions options, IImageEncoder images, ITextEncoder textEncoder,
        Tensor prompts, IReadOnlyDictionary<string, int> classOf, AsifOptions defaults, IProgress<string>? messages)
    {
        var validation = EmojiSplits.Split(manifest, options.ForValidation());
        var queries = validation.StyleTest.Where(sample => classOf.ContainsKey(sample.Concept.ShortName)).ToList();
        messages?.Report($"choosing centring on the validation split: {validation.Pretrain.Count} anchor pairs, {queries.Count} {string.Join(", ", validation.Options.HeldOutStyles)} drawings");
        using var queryImages = images.EncodeImages(queries.Select(sample => sample.ImagePath).ToList());
        var labels = queries.Select(sample => classOf[sample.Concept.ShortName]).ToList();
        double Top1(bool centre)
        {
            using var index = AsifIndex.Build(images, textEncoder, Pairs(validation.Pretrain), centre: centre);
            return Score(defaults.NonZeros, index, queryImages, prompts, defaults, labels).Top1;
        }
        return new CentringChoice(Top1(false), Top1(true), string.Join(", ", validation.Options.HeldOutStyles));
    }

    private static AsifCurvePoint Score(double setting, AsifIndex index, Tensor images, Tensor prompts, AsifOptions options, IReadOnlyList<int> labels) =>
        Accuracy(setting, RelativeRepresentation.Compute(images, index.ImageAnchors, options), RelativeRepresentation.Compute(prompts, index.TextAnchors, options), labels);

    private static AsifCurvePoint Accuracy(double setting, SparseRows images, SparseRows prompts, IReadOnlyList<int> labels)
    {
        using var scores = images.Products(prompts);
        return new AsifCurvePoint(setting, ClassificationMetrics.TopKAccuracy(scores, labels, 1), ClassificationMetrics.TopKAccuracy(scores, labels, 5));
    }
}
