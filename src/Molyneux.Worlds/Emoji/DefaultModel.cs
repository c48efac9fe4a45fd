using Molyneux.Alignment;
using Molyneux.Asif;
using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Runtime;

namespace Molyneux.Worlds.Emoji;

/// <summary>The model commands use when none is given: a dual encoder that knows language and images, the two
/// pretrained towers that come with the build (ImageNet's ResNet18 and all-MiniLM-L6-v2) joined by projections
/// aligned on the emoji world (<see cref="Aligner"/>; the default Knowledge Transfer concepts withheld, Twitter's style
/// held out). Only the projections ship (<c>models/emoji-minilm/projections.safetensors</c>, next to the program): on
/// first use the towers are imported from the build and the whole Hugging Face folder is written to
/// <c>$MOLYNEUX_HOME/models/emoji-minilm</c>, reused after. Without the shipped file the recipe runs instead.</summary>
public static class DefaultModel
{
    public const string Name = "emoji-minilm";

    /// <summary>The recipe (docs/default-models.md), <see cref="AlignOptions"/>' defaults: the projections alone, the
    /// towers locked; chosen on the emoji validation split (Facebook's drawings), never on Twitter's.</summary>
    public static AlignOptions Recipe { get; } = new();

    /// <summary>The image tower's input: the 64 px drawings upsampled to 96 px (224 px costs 5× as much on a CPU).</summary>
    public const int InputSize = 96;

    public const int ProjectionDim = 512;

    public static string CachedFolder(string home) => Path.Combine(home, "models", Name);

    /// <summary>Where the projections shipped next to the program are (the CLI copies them to its output).</summary>
    public static string ShippedProjections => Path.Combine(AppContext.BaseDirectory, "models", Name, DualEncoderCheckpoint.ProjectionsFile);

    /// <summary>The folder of the default model, assembling it first (or aligning it, without shipped projections).</summary>
    /// <param name="home">Where models are cached; default <see cref="MolyneuxHome.Default"/>.</param>
    /// <param name="messages">What is being done, when the model has to be built.</param>
    /// <param name="progress">The alignment's steps, when it runs.</param>
    /// <param name="projections">The projections to assemble it from; default <see cref="ShippedProjections"/>.</param>
    public static string Resolve(string? home = null, IProgress<string>? messages = null, IProgress<AlignProgress>? progress = null, string? projections = null)
    {
        home ??= MolyneuxHome.Default;
        projections ??= ShippedProjections;
        var cached = CachedFolder(home);
        if (File.Exists(Path.Combine(cached, HfConfigFile.FileName))) return cached;
        using var model = NewModel();
        if (File.Exists(projections))
        {
            messages?.Report($"assembling the default model (ResNet18 and MiniLM from the build, projections from {projections}) into {cached}");
            DualEncoderCheckpoint.LoadProjections(model, projections);
        }
        else
        {
            messages?.Report($"no default model yet: installing the emoji world and aligning ResNet18 and MiniLM ({Recipe.Steps} steps, a few minutes on 2 cores) into {cached}");
            var manifest = EmojiInstaller.Install(home, messages);
            new Aligner(Recipe) { Progress = progress }.Run(model, new EmojiPretrainingData(manifest, EmojiSplits.Split(manifest), messages));
        }
        DualEncoderCheckpoint.Save(model, cached);
        return cached;
    }

    /// <summary>The built-in towers at the recipe's input size, with the recipe's fresh (seeded) projections.</summary>
    public static DualEncoderPipeline NewModel()
    {
        var model = DualEncoderCheckpoint.FromBuiltInTowers(ProjectionDim, Recipe.Seed);
        model.ResizeImageInput(InputSize);
        return model;
    }
}
