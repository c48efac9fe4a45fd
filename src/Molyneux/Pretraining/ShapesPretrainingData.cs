using Molyneux.Worlds;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>The procedural shapes world as pretraining data: a fixed set of generated scenes with their captions,
/// probed with held-out scenes (another seed) on colour and shape questions.</summary>
public sealed class ShapesPretrainingData : IPretrainingData
{
    private readonly IReadOnlyList<ShapesSample> samples;
    private readonly Tensor images;

    public ShapesPretrainingData(ShapesWorld world, int count, int seed, int probeImagesPerClass = 40)
    {
        samples = world.Generate(count, seed);
        images = ShapesSample.Stack(samples);
        ImageSize = (int)images.shape[^1];
        Probes = [Probe(world, ShapesQuestion.Color, probeImagesPerClass, seed + 1), Probe(world, ShapesQuestion.Shape, probeImagesPerClass, seed + 2)];
        Description = $"shapes: {count} scenes (seed {seed}), {ImageSize} px";
    }

    public string Description { get; }

    public int Count => samples.Count;

    public int ImageSize { get; }

    public IReadOnlyList<ZeroShotProbe> Probes { get; }

    public IEnumerable<string> VocabularyCorpus => samples.Select(sample => sample.Caption);

    public (Tensor Images, IReadOnlyList<string> Captions) Batch(IReadOnlyList<int> indices, Generator generator) =>
        (images.index_select(0, tensor(indices.Select(i => (long)i).ToArray())), indices.Select(i => samples[i].Caption).ToList());

    public static ZeroShotProbe Probe(ShapesWorld world, ShapesQuestion question, int perClass, int seed)
    {
        var set = world.EvaluationSet(question, perClass, seed);
        return new ZeroShotProbe(question.Name, ShapesSample.Stack(set.Select(entry => entry.Sample).ToList()),
            set.Select(entry => entry.Label).ToList(), question.DisplayNames, question.Prompts);
    }
}
