using Xunit.Abstractions;
using Molyneux.Checkpoints;
using Molyneux.Pretraining;
using Molyneux.Tests.Fixtures;
using Molyneux.Worlds;

namespace Molyneux.Tests.Pretraining;

/// <summary>What a micro CLIP learns from scratch on the shapes world in about a minute, measured zero-shot on scenes
/// of another seed than pretraining's.</summary>
[Collection(ShapesModelCollection.Name)]
public sealed class ShapesPretrainingTests(ShapesModelFixture model, ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Slow")]
    public void A_minute_of_pretraining_names_the_colour_of_held_out_scenes()
    {
        using var clip = ClipCheckpoint.Load(model.Folder);
        var world = new ShapesWorld(new ShapesWorldOptions { ImageSize = 32 });
        var (color, _) = ShapesPretrainingData.Probe(world, ShapesQuestion.Color, perClass: 40, seed: 1234).Evaluate(clip);
        var (shape, _) = ShapesPretrainingData.Probe(world, ShapesQuestion.Shape, perClass: 40, seed: 1235).Evaluate(clip);
        output.WriteLine($"{ShapesModelFixture.Steps} steps: colour top-1 {color:P1}, shape top-1 {shape:P1} (chance {1.0 / ShapesWorld.Colors.Count:P1} and {1.0 / ShapesWorld.Shapes.Count:P1})");
        Assert.True(color >= 0.9, $"colour top-1 {color:P1}");
    }
}
