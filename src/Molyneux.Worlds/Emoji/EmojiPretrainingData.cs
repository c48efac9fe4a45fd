using System.Text.RegularExpressions;
using Molyneux.Evaluation;
using Molyneux.Imaging;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Training;
using static TorchSharp.torch;

namespace Molyneux.Worlds.Emoji;

/// <summary>The emoji world as pretraining data: the pretraining styles' drawings of every concept not withheld,
/// with captions "label: a sample of tags; visual words", and the held-out style as the probe (prompt = the
/// concept's label, all pretrained concepts as candidates).</summary>
public sealed partial class EmojiPretrainingData : IPretrainingData
{
    /// <summary>Tags sampled into one caption: a few, so the label is not drowned and captions vary between epochs.</summary>
    internal const int MaxTagsPerCaption = 3;

    /// <summary>Fraction of captions that are the bare label, the form zero-shot prompts take; without them the text
    /// tower only ever sees labels followed by tags and visual words.</summary>
    internal const double LabelOnlyRate = 0.5;

    /// <summary>Uniform draws per caption: whether it is the bare label, then what <see cref="Caption"/> takes.</summary>
    private const int DrawsPerCaption = MaxTagsPerCaption + 2;

    private readonly IReadOnlyList<EmojiSample> samples;
    private readonly Tensor images;

    public EmojiPretrainingData(EmojiManifest manifest, EmojiSplit split, IProgress<string>? progress = null)
    {
        samples = split.Pretrain;
        progress?.Report($"loading {samples.Count} pretraining images");
        images = LoadImages(samples.Select(sample => sample.ImagePath).ToList());
        var concepts = samples.Select(sample => sample.Concept.ShortName).Distinct().ToList();
        var classOf = concepts.Select((name, index) => (name, index)).ToDictionary(pair => pair.name, pair => pair.index);
        var labels = samples.GroupBy(sample => sample.Concept.ShortName).ToDictionary(group => group.Key, group => group.First().Concept.Label);
        var probeSamples = split.StyleTest.Where(sample => classOf.ContainsKey(sample.Concept.ShortName)).ToList();
        progress?.Report($"loading {probeSamples.Count} held-out-style images");
        var probeImages = LoadImages(probeSamples.Select(sample => sample.ImagePath).ToList());
        captionProbes = new Lazy<IReadOnlyList<CaptionProbe>>(() => CaptionProbesOf(probeSamples, probeImages));
        Probes =
        [
            new ZeroShotProbe("heldout_style", probeImages,
                probeSamples.Select(sample => classOf[sample.Concept.ShortName]).ToList(),
                concepts.Select(name => labels[name]).ToList(),
                concepts.Select(name => (IReadOnlyList<string>)[labels[name]]).ToList()),
        ];
        Description = $"emoji: styles {string.Join(", ", split.Options.PretrainStyles)} ({samples.Count} images of {concepts.Count} concepts), " +
                      $"held-out style {string.Join(", ", split.Options.HeldOutStyles)}, {split.Options.HeldOutConcepts.Count} concepts withheld";
        ImageSize = (int)images.shape[^1];
    }

    public string Description { get; }

    public int Count => samples.Count;

    public int ImageSize { get; }

    public IReadOnlyList<ZeroShotProbe> Probes { get; }

    /// <summary>A captioner's probes (<see cref="CaptionProbesOf"/>), made on first use: only a CoCa's pretraining
    /// reads them.</summary>
    public IReadOnlyList<CaptionProbe> CaptionProbes => captionProbes.Value;

    private readonly Lazy<IReadOnlyList<CaptionProbe>> captionProbes;

    /// <summary>Drawings of the held-out style captioned along the curve (every k-th, so the curve costs little).</summary>
    internal const int CurveProbeImages = 200;

    /// <summary>References per drawing for CIDEr-D: the bare label and captions with other tags drawn.</summary>
    internal const int ReferencesPerImage = 5;

    /// <summary>The held-out style's drawings as caption probes: a caption is right when it starts with the drawing's
    /// label (<see cref="StartsWithLabel"/>), as the pretraining captions do. Along the curve, an evenly spaced
    /// <see cref="CurveProbeImages"/> of them; at the end, all of them (the reported number; nothing is chosen on
    /// either). <paramref name="images"/> are the drawings as bytes [N,3,S,S], in the order of <paramref name="samples"/>.</summary>
    internal static IReadOnlyList<CaptionProbe> CaptionProbesOf(IReadOnlyList<EmojiSample> samples, Tensor images)
    {
        // Fixed draws, so that the references are the same in every run.
        var random = new Random(ReferencesPerImage);
        var draws = new float[DrawsPerCaption];
        var references = samples.Select(sample => (IReadOnlyList<string>)[sample.Concept.Label, .. Enumerable.Range(1, ReferencesPerImage - 1).Select(_ =>
        {
            for (var d = 0; d < draws.Length; d++) draws[d] = random.NextSingle();
            return Caption(sample, draws.AsSpan(1));
        })]).ToList();
        CaptionProbe Probe(string name, IReadOnlyList<int> rows, bool finalOnly)
        {
            using var index = tensor(rows.Select(row => (long)row).ToArray());
            // Made on first use, perhaps inside a training step's dispose scope; the probe outlives it.
            var pixels = images.index_select(0, index).to(ScalarType.Float32).Over(255).DetachFromDisposeScope();
            return new CaptionProbe(name, pixels, rows.Select(row => references[row]).ToList(), finalOnly)
            {
                IsRight = (i, caption) => StartsWithLabel(caption, samples[rows[i]].Concept.Label),
            };
        }
        var every = Math.Max(1, samples.Count / CurveProbeImages);
        var curveRows = Enumerable.Range(0, samples.Count).Where(row => row % every == 0).Take(CurveProbeImages).ToList();
        return [Probe("heldout_style_sample", curveRows, finalOnly: false), Probe("heldout_style", Enumerable.Range(0, samples.Count).ToList(), finalOnly: true)];
    }

    /// <summary>Whether a generated caption reads as <paramref name="label"/>: the label's words and punctuation first,
    /// then nothing, or the ':' or ';' before tags and visual words — compared without case, spacing or quote style,
    /// which the tokenizer's decoding does not keep. A longer label that begins with this one ("cat face" for "cat")
    /// does not count.</summary>
    internal static bool StartsWithLabel(string caption, string label)
    {
        var (said, expected) = (Words(caption), Words(label));
        return said.Count >= expected.Count && said.Take(expected.Count).SequenceEqual(expected)
            && (said.Count == expected.Count || said[expected.Count] is ":" or ";");
    }

    private static List<string> Words(string text) =>
        WordOrMark().Matches(text.ToLowerInvariant().Replace('\u2019', '\'')).Select(match => match.Value).ToList();

    [GeneratedRegex(@"\w+|[^\w\s]")]
    private static partial Regex WordOrMark();

    /// <summary>Stronger than for shapes: captions name no positions, and generalising to another artist's drawing is
    /// the point. Visual words name colours, so there is no colour jitter.</summary>
    public RandomAffineOptions Augmentation { get; } = new() { MaxRotationDegrees = 15, MaxTranslation = 0.1, MinScale = 0.7, MaxScale = 1.05, Probability = 1 };

    public IEnumerable<string> VocabularyCorpus => samples.Select(sample => sample.Caption);

    public (Tensor Images, IReadOnlyList<string> Captions) Batch(IReadOnlyList<int> indices, Generator generator)
    {
        var index = tensor(indices.Select(i => (long)i).ToArray());
        var batch = images.index_select(0, index).to(ScalarType.Float32).Over(255);
        var draws = rand(indices.Count, DrawsPerCaption, generator: generator).data<float>().ToArray();
        var captions = indices.Select((sampleIndex, row) =>
        {
            var rowDraws = draws.AsSpan(row * DrawsPerCaption, DrawsPerCaption);
            return rowDraws[0] < LabelOnlyRate ? samples[sampleIndex].Concept.Label : Caption(samples[sampleIndex], rowDraws[1..]);
        }).ToList();
        return (batch, captions);
    }

    /// <summary>"label: tag, tag; colour, shape" with 0–3 tags drawn from <paramref name="draws"/> (uniform [0,1)).</summary>
    internal static string Caption(EmojiSample sample, ReadOnlySpan<float> draws)
    {
        var concept = sample.Concept;
        var image = concept.Images[sample.Style];
        var tagCount = Math.Min(concept.Tags.Count, (int)(draws[0] * (MaxTagsPerCaption + 1)));
        var tags = new List<string>(concept.Tags);
        var chosen = new List<string>();
        for (var i = 0; i < tagCount; i++)
        {
            var pick = Math.Min(tags.Count - 1, (int)(draws[i + 1] * tags.Count));
            chosen.Add(tags[pick]);
            tags.RemoveAt(pick);
        }
        return EmojiManifest.Caption(concept.Label, chosen, image.Colors.Concat(image.Shapes));
    }

    /// <summary>All images as one uint8 tensor [N,3,S,S] (a quarter of float32's memory).</summary>
    internal static Tensor LoadImages(IReadOnlyList<string> paths)
    {
        var loaded = new Tensor[paths.Count];
        Parallel.For(0, paths.Count, i =>
        {
            using var image = ImageDecoder.Load(paths[i]);
            loaded[i] = image.Times(255).round().to(ScalarType.Byte);
        });
        var stacked = stack(loaded);
        foreach (var image in loaded) image.Dispose();
        return stacked;
    }
}
