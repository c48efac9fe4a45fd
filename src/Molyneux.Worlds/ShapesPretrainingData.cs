using Molyneux.Evaluation;
using Molyneux.Pretraining;
using Molyneux.Training;
using Molyneux.Worlds;
using static TorchSharp.torch;

namespace Molyneux.Worlds;

/// <summary>The procedural shapes world as pretraining data: scenes drawn on demand (so a large world costs no
/// memory and a tiny ViT cannot memorise it), probed with held-out scenes (other seeds) on colour and shape
/// questions.</summary>
public sealed class ShapesPretrainingData : IPretrainingData
{
    /// <summary>Captions the vocabulary is trained on: enough to see every word many times.</summary>
    private const int VocabularyScenes = 20_000;

    private readonly ShapesWorld world;
    private readonly int seed;

    public ShapesPretrainingData(ShapesWorld world, int count, int seed, int probeImagesPerClass = 40, int captionProbeScenes = 200)
    {
        this.world = world;
        this.seed = seed;
        Count = count;
        ImageSize = world.Options.ImageSize;
        Probes = [Probe(world, ShapesQuestion.Color, probeImagesPerClass, seed + 1), Probe(world, ShapesQuestion.Shape, probeImagesPerClass, seed + 2)];
        // Drawn on first use: only a captioner's pretraining asks for them.
        captionProbes = new Lazy<IReadOnlyList<CaptionProbe>>(() =>
        [
            CaptionProbeOf("validation", world, captionProbeScenes, seed + 3),
            CaptionProbeOf("test", world, captionProbeScenes, seed + 4, finalOnly: true),
        ]);
        Description = $"shapes: {count} scenes (seed {seed}), {ImageSize} px, {world.Options.Summary}";
    }

    public string Description { get; }

    public int Count { get; }

    public int ImageSize { get; }

    public IReadOnlyList<ZeroShotProbe> Probes { get; }

    /// <summary>Held-out scenes (streams seed + 3 for the curve, seed + 4 as the test set measured once at the end)
    /// with five reference captions each.</summary>
    public IReadOnlyList<CaptionProbe> CaptionProbes => captionProbes.Value;

    private readonly Lazy<IReadOnlyList<CaptionProbe>> captionProbes;

    public RandomAffineOptions Augmentation => IPretrainingData.LightAugmentation;

    public IEnumerable<string> VocabularyCorpus =>
        Enumerable.Range(0, Math.Min(Count, VocabularyScenes)).Select(index => world.Sample(index, seed).Caption);

    public (Tensor Images, IReadOnlyList<string> Captions) Batch(IReadOnlyList<int> indices, Generator generator)
    {
        // Painting costs about as much as the micro model's forward and backward pass, which gains little from a second
        // core; each scene is a pure function of its index, so painting them in parallel changes nothing but the time.
        var samples = new ShapesSample[indices.Count];
        Parallel.For(0, samples.Length, i => samples[i] = world.Sample(indices[i], seed));
        return (ShapesSample.Stack(samples), samples.Select(sample => sample.Caption).ToList());
    }

    /// <summary>The question as <paramref name="world"/> can ask it (<see cref="ShapesWorld.Ask"/>), on
    /// <paramref name="perClass"/> scenes per class of the stream <paramref name="seed"/>.</summary>
    public static ZeroShotProbe Probe(ShapesWorld world, ShapesQuestion question, int perClass, int seed)
    {
        question = world.Ask(question);
        var set = world.EvaluationSet(question, perClass, seed);
        return new ZeroShotProbe(question.Name, ShapesSample.Stack(set.Select(entry => entry.Sample).ToList()),
            set.Select(entry => entry.Label).ToList(), question.DisplayNames, question.Prompts);
    }

    /// <summary>A caption probe of <paramref name="count"/> scenes of the stream <paramref name="seed"/> of <paramref name="world"/>, each with
    /// <paramref name="references"/> reference captions (<see cref="ShapesSample.References"/>).</summary>
    public static CaptionProbe CaptionProbeOf(string name, ShapesWorld world, int count, int seed, int references = 5, bool finalOnly = false)
    {
        var samples = world.Generate(count, seed);
        // Made on first use, perhaps inside a training step's dispose scope; the probe outlives it.
        return new CaptionProbe(name, ShapesSample.Stack(samples).DetachFromDisposeScope(), samples.Select(sample => sample.References(references)).ToList(), finalOnly);
    }
}
