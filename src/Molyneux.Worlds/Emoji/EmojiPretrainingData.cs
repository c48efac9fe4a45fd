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
public sealed class EmojiPretrainingData : IPretrainingData
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
        Probes =
        [
            new ZeroShotProbe("heldout_style", LoadImages(probeSamples.Select(sample => sample.ImagePath).ToList()),
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
