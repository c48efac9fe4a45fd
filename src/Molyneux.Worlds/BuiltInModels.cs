using Molyneux.Alignment;
using Molyneux.Pretraining;
using Molyneux.Worlds.Emoji;

namespace Molyneux.Worlds;

/// <summary>The models Molyneux makes itself, as data: ImageNet's ResNet18 and MiniLM aligned on the emoji world (the
/// default of every command that takes a model) and on the two shapes worlds. Recipes, the runs that chose them and
/// what they reach: docs/default-models.md.</summary>
public static class BuiltInModels
{
    /// <summary>The projections alone aligned on the Google, Apple and Facebook drawings, the 20 default Knowledge
    /// Transfer concepts withheld; <see cref="AlignOptions"/>' defaults, chosen on the emoji validation split.</summary>
    public static BuiltInModel Default { get; } = new("emoji-minilm", "the emoji world", new AlignOptions(), "align --data emoji",
        (home, messages) =>
        {
            var manifest = EmojiInstaller.Install(home, messages);
            return new EmojiPretrainingData(manifest, EmojiSplits.Split(manifest), messages);
        });

    /// <summary>The full shapes world (1–3 shapes, patterns, grounds of any colour), the ten composite concepts of
    /// <see cref="ShapesConcepts.All"/> only ever described, so that Knowledge Transfer can teach their names; all four ResNet
    /// stages unlocked (the stem stays as pretrained), since ImageNet's pooled features of small scenes keep colour only
    /// weakly.</summary>
    public static BuiltInModel Shapes { get; } = ShapesModel("shapes-minilm", "shapes", new ShapesWorldOptions { Withhold = ShapesConcepts.All }, scenes: 4096,
        new AlignOptions { Train = AlignedParts.ImageTower | AlignedParts.Projections, UnlockedImageStages = 4, Steps = 600, BatchSize = 128, ImageViews = 1, ProbeEvery = 100, Seed = 7 });

    /// <summary>The plain shapes world (one solid shape on black, where no composite concept can appear), the last
    /// ResNet stage unlocked.</summary>
    public static BuiltInModel ShapesPlain { get; } = ShapesModel("shapes-plain-minilm", "shapes-plain", ShapesWorldOptions.Plain, scenes: 2048,
        new AlignOptions { Train = AlignedParts.ImageTower | AlignedParts.Projections, Steps = 300, BatchSize = 128, ImageViews = 1, ProbeEvery = 100, Seed = 7 });

    public static IReadOnlyList<BuiltInModel> All { get; } = [Default, Shapes, ShapesPlain];

    /// <summary>The built-in model of this name, or null.</summary>
    public static BuiltInModel? Find(string name) => All.FirstOrDefault(model => model.Name == name);

    /// <summary>A shapes model; its withheld concepts, if any, are those docs/examples/shapes-concepts.json lists, which
    /// its align command names.</summary>
    private static BuiltInModel ShapesModel(string name, string data, ShapesWorldOptions world, int scenes, AlignOptions recipe) =>
        new(name, $"the {data} world", recipe,
            $"align --data {data}{(world.Withhold.Count > 0 ? " --withhold docs/examples/shapes-concepts.json" : "")} --train image+projections " +
            $"--unlocked-stages {recipe.UnlockedImageStages} --steps {recipe.Steps} --batch-size {recipe.BatchSize} --image-views {recipe.ImageViews} " +
            $"--probe-every {recipe.ProbeEvery} --shapes-count {scenes} --seed {recipe.Seed}",
            (_, _) => new ShapesPretrainingData(new ShapesWorld(world), scenes, recipe.Seed));
}
