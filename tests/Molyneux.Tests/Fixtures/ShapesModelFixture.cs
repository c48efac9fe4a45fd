using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Worlds;

namespace Molyneux.Tests.Fixtures;

/// <summary>One micro CLIP pretrained from scratch on the shapes world for the whole test run (about a minute on 2
/// cores): every composite concept shown only with descriptive captions, never by name, which is the Knowledge
/// Transfer setup. The pretraining tests check what it learnt; the end-to-end Knowledge Transfer tests teach it the
/// names.</summary>
public sealed class ShapesModelFixture : IDisposable
{
    public const int Steps = 600;

    private readonly TestPaths.TempFolder folder = new();

    public ShapesModelFixture()
    {
        var world = new ShapesWorld(new ShapesWorldOptions { ImageSize = 32, Withhold = ShapesConcepts.All, ConceptRate = 0.2 });
        var options = new PretrainOptions { Preset = "molyneux-micro", Steps = Steps, BatchSize = 128, LearningRate = 2e-3, VocabularySize = 1000, Seed = 0 };
        Folder = folder.File("shapes-model");
        Record = new ClipPretrainer(new ShapesPretrainingData(world, count: 1_000_000, seed: 0, probeImagesPerClass: 40), options, ComputeDevice.Cpu).Run(Folder);
    }

    /// <summary>The HF checkpoint folder.</summary>
    public string Folder { get; }

    public TrainingRecord Record { get; }

    public void Dispose() => folder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class ShapesModelCollection : ICollectionFixture<ShapesModelFixture>
{
    public const string Name = "shapes model";
}
