using Molyneux.Alignment;
using Molyneux.Checkpoints;
using Molyneux.Cli;
using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Tests.KnowledgeTransfer;
using Molyneux.Worlds;
using static TorchSharp.torch;

namespace Molyneux.Tests.Worlds;

public sealed class BuiltInModelTests
{
    [Fact]
    public void The_default_model_is_assembled_once_from_the_builds_towers_and_the_shipped_projections()
    {
        using var home = new TestPaths.TempFolder();
        using var scope = NewDisposeScope();
        var builtIn = BuiltInModels.Default;
        using var aligned = builtIn.NewModel();
        using (no_grad())
        {
            aligned.Model.visual_projection.weight!.mul_(-1);
            aligned.LogitScale.fill_(3.0f);
        }
        var projections = home.File("shipped.safetensors");
        DualEncoderCheckpoint.SaveProjections(aligned, projections);
        var messages = new List<string>();

        var folder = builtIn.Resolve(home.Path, new SynchronousProgress<string>(messages.Add), projections: projections);

        Assert.Equal(builtIn.CachedFolder(home.Path), folder);
        Assert.Contains(messages, message => message.Contains("assembling emoji-minilm") && message.Contains(projections));
        using var loaded = VisionLanguageCheckpoint.Load(folder);
        var model = Assert.IsType<DualEncoderPipeline>(loaded);
        Assert.Equal(BuiltInModel.InputSize, model.ImageSize);
        var pixels = rand([2, 3, BuiltInModel.InputSize, BuiltInModel.InputSize], generator: new Generator(1));
        TensorAssert.Close(aligned.EncodePixels(aligned.Normalize(pixels)), model.EncodePixels(model.Normalize(pixels)), 0);
        string[] texts = ["banana", "a pink bird with long legs"];
        TensorAssert.Close(aligned.EncodeTexts(texts), model.EncodeTexts(texts), 0);

        // Found, not rebuilt: the projections file is no longer read.
        File.Delete(projections);
        messages.Clear();
        Assert.Equal(folder, builtIn.Resolve(home.Path, new SynchronousProgress<string>(messages.Add), projections: projections));
        Assert.Empty(messages);
    }

    [Fact]
    public void A_model_whose_recipe_unlocks_the_image_tower_is_aligned_on_first_use_and_only_then()
    {
        using var home = new TestPaths.TempFolder();
        using var scope = NewDisposeScope();
        var recipe = new AlignOptions { Train = AlignedParts.ImageTower | AlignedParts.Projections, Steps = 2, BatchSize = 8, ImageViews = 1, ProbeEvery = 0, WarmupSteps = 1, Seed = 3 };
        var builtIn = new BuiltInModel("tiny-shapes", "the plain shapes world", recipe, "align --data shapes-plain",
            (_, _) => new ShapesPretrainingData(new ShapesWorld(ShapesWorldOptions.Plain), 16, recipe.Seed, probeImagesPerClass: 1));
        var messages = new List<string>();

        var folder = builtIn.Resolve(home.Path, new SynchronousProgress<string>(messages.Add));

        Assert.Equal(builtIn.CachedFolder(home.Path), folder);
        Assert.Contains(messages, message => message.Contains("tiny-shapes is not built yet") && message.Contains("align --data shapes-plain"));
        Assert.Contains(messages, message => message.StartsWith("built tiny-shapes") && message.Contains("color_top1"));
        Assert.False(Directory.Exists(folder + ".resume"));
        using var fresh = builtIn.NewModel();
        using var loaded = Assert.IsType<DualEncoderPipeline>(VisionLanguageCheckpoint.Load(folder));
        var freshParameters = fresh.Model.named_parameters().ToDictionary(pair => pair.name, pair => pair.parameter);
        var changed = loaded.Model.named_parameters().Where(pair => !pair.parameter.allclose(freshParameters[pair.name], rtol: 0, atol: 0)).Select(pair => pair.name).ToList();
        Assert.Contains(changed, name => name.StartsWith("visual_projection"));
        Assert.Contains(changed, name => name.StartsWith("vision_model"));
        Assert.DoesNotContain(changed, name => name.StartsWith("text_model"));

        messages.Clear();
        Assert.Equal(folder, builtIn.Resolve(home.Path, new SynchronousProgress<string>(messages.Add)));
        Assert.Empty(messages);
    }

    [Fact]
    public void The_catalogue_names_each_model_once_and_its_shapes_recipes_say_what_align_runs()
    {
        Assert.Equal(BuiltInModels.All.Count, BuiltInModels.All.Select(model => model.Name).Distinct().Count());
        Assert.Same(BuiltInModels.Shapes, BuiltInModels.Find("shapes-minilm"));
        Assert.Null(BuiltInModels.Find("no-such-model"));
        foreach (var model in new[] { BuiltInModels.Shapes, BuiltInModels.ShapesPlain })
        {
            Assert.Contains($"--steps {model.Recipe.Steps} ", model.Command);
            Assert.Contains($"--unlocked-stages {model.Recipe.UnlockedImageStages} ", model.Command);
            Assert.Contains($"--seed {model.Recipe.Seed}", model.Command);
        }
        Assert.Contains("--withhold", BuiltInModels.Shapes.Command);
        // The withheld concepts are the ten the shapes world's concepts file (the one the command names) lists.
        var listed = ConceptsFile.Read(Path.Combine(TestPaths.RepositoryRoot, "docs", "examples", "shapes-concepts.json")).Select(concept => concept.Name);
        Assert.Equal(ShapesConcepts.All.Select(concept => concept.Name), listed);
    }

    [Fact]
    public void Model_option_takes_a_built_in_name_unless_a_file_of_that_name_exists()
    {
        Assert.Same(BuiltInModels.Default, ModelOptions.BuiltInNamed(null));
        Assert.Same(BuiltInModels.ShapesPlain, ModelOptions.BuiltInNamed("shapes-plain-minilm"));
        Assert.Null(ModelOptions.BuiltInNamed("openai/clip-vit-base-patch32"));
        // A folder of that name in the working directory is what the user means.
        var folder = Path.Combine(Environment.CurrentDirectory, "shapes-minilm");
        Directory.CreateDirectory(folder);
        try
        {
            Assert.Null(ModelOptions.BuiltInNamed("shapes-minilm"));
        }
        finally
        {
            Directory.Delete(folder);
        }
    }
}
