using Molyneux.Alignment;
using Molyneux.Asif;
using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Runtime;

namespace Molyneux.Worlds;

/// <summary>A model Molyneux makes itself from the two towers that come with the build (ImageNet's ResNet18 and
/// all-MiniLM-L6-v2), aligned on one of its worlds by a fixed recipe (<see cref="Aligner"/>), and named on the command
/// line like a folder (<c>--model shapes-minilm</c>). It is made on first use into <c>$MOLYNEUX_HOME/models/NAME</c>
/// and loaded from there after: assembled in seconds from projections shipped next to the program when the recipe
/// trains nothing else, otherwise aligned (minutes; an interrupted alignment continues where its last saved state
/// left it). The catalogue is <see cref="BuiltInModels"/>.</summary>
/// <param name="Name">What <c>--model</c> calls it, and its folder's name.</param>
/// <param name="World">What it is aligned on, for messages ("the emoji world").</param>
/// <param name="Recipe">The alignment; its seed also draws the fresh projections.</param>
/// <param name="Command">The <c>align</c> command line that makes the same model, for messages and the docs.</param>
/// <param name="Data">The recipe's image–caption pairs and probes, given Molyneux's cache folder (where a world is
/// installed) and where to report what is being done.</param>
public sealed record BuiltInModel(string Name, string World, AlignOptions Recipe, string Command, Func<string, IProgress<string>?, IPretrainingData> Data)
{
    /// <summary>The image tower's input of every built-in model: 96 px (224 px costs 5× as much on a CPU, which the
    /// inversion of Knowledge Transfer pays at every step).</summary>
    public const int InputSize = 96;

    public const int ProjectionDim = 512;

    public string CachedFolder(string home) => Path.Combine(home, "models", Name);

    /// <summary>Where projections shipped next to the program would be (the CLI copies the emoji model's there).</summary>
    public string ShippedProjections => Path.Combine(AppContext.BaseDirectory, "models", Name, DualEncoderCheckpoint.ProjectionsFile);

    /// <summary>The built-in towers at <see cref="InputSize"/>, with the recipe's fresh (seeded) projections.</summary>
    public DualEncoderPipeline NewModel()
    {
        var model = DualEncoderCheckpoint.FromBuiltInTowers(ProjectionDim, Recipe.Seed);
        model.ResizeImageInput(InputSize);
        return model;
    }

    /// <summary>The model's folder, made first if it is not there yet.</summary>
    /// <param name="home">Where models are cached; default <see cref="MolyneuxHome.Default"/>.</param>
    /// <param name="messages">What is being done, when the model has to be made.</param>
    /// <param name="progress">The alignment's steps, when it runs.</param>
    /// <param name="projections">The projections to assemble it from, for a recipe that trains only those; default
    /// <see cref="ShippedProjections"/>. Without the file the recipe runs.</param>
    public string Resolve(string? home = null, IProgress<string>? messages = null, IProgress<AlignProgress>? progress = null, string? projections = null)
    {
        home ??= MolyneuxHome.Default;
        projections ??= ShippedProjections;
        var cached = CachedFolder(home);
        if (File.Exists(Path.Combine(cached, HfConfigFile.FileName))) return cached;
        using var model = NewModel();
        if (Recipe.TrainsProjectionsOnly() && File.Exists(projections))
        {
            messages?.Report($"assembling {Name} (ResNet18 and MiniLM from the build, projections from {projections}) into {cached}");
            DualEncoderCheckpoint.LoadProjections(model, projections);
            DualEncoderCheckpoint.Save(model, cached);
            return cached;
        }
        messages?.Report($"{Name} is not built yet: aligning ResNet18 and MiniLM on {World} ({Recipe.Steps} steps; the same as `molyneux {Command} --out DIR`) into {cached}");
        var data = Data(home, messages);
        // Continues a state an interrupted build saved (every few minutes), as align --resume does; the folder has no
        // config.json, so whatever is there is not a finished model and is replaced.
        var state = new ResumableOutput(cached, Aligner.StateFile, resume: true, overwrite: true);
        var result = new Aligner(Recipe) { Progress = progress, State = state }.Run(model, data);
        state.Complete(folder => DualEncoderCheckpoint.WriteFiles(model, folder));
        var probes = result.Curve[^1].Probes ?? new Dictionary<string, double>();
        messages?.Report($"built {Name} in {result.Elapsed.TotalMinutes:F1} minutes; its probes: " +
                         string.Join(", ", probes.Select(probe => $"{probe.Key} {100 * probe.Value:F1} %")));
        return cached;
    }
}
