using Molyneux.Pretraining;
using Molyneux.Runtime;

namespace Molyneux.Worlds.Emoji;

/// <summary>The model commands use when none is given: a tiny CLIP Molyneux pretrains itself on the emoji world
/// (three vendors' artwork; Twitter's held out to measure generalisation; the default Knowledge Transfer concepts
/// withheld entirely). One shipped with the tool is used as is; otherwise it is pretrained on first use into
/// <c>$MOLYNEUX_HOME/models/default</c> and reused after.</summary>
public static class DefaultModel
{
    /// <summary>The recipe of the shipped default (README: "The default model"): the steps a 20-minute budget gives on
    /// 2 cores, fixed so that the model is reproducible; the same recipe trains it on first use.</summary>
    public static PretrainOptions Recipe { get; } = new() { Preset = "molyneux-tiny", Steps = 749, Seed = 0 };

    public static string CachedFolder(string home) => Path.Combine(home, "models", "default");

    /// <summary>Where a model shipped next to the program would be (the CLI copies it to its output).</summary>
    public static string ShippedFolder => Path.Combine(AppContext.BaseDirectory, "models", "default");

    /// <summary>The folder of the default model, pretraining it first if neither a cached nor a shipped one exists.</summary>
    public static string Resolve(string? home = null, IProgress<string>? messages = null, IProgress<PretrainProgress>? progress = null)
    {
        home ??= MolyneuxHome.Default;
        var cached = CachedFolder(home);
        if (File.Exists(Path.Combine(cached, "config.json"))) return cached;
        if (File.Exists(Path.Combine(ShippedFolder, "config.json"))) return ShippedFolder;
        messages?.Report($"no default model yet: installing the emoji world and pretraining one ({Recipe.Steps} steps, about 20 minutes on 2 cores) into {cached}");
        var manifest = EmojiInstaller.Install(home, messages);
        var data = new EmojiPretrainingData(manifest, EmojiSplits.Split(manifest), messages);
        new ClipPretrainer(data, Recipe, ComputeDevice.Parse("auto")) { Progress = progress }.Run(cached, resume: Directory.Exists(ResumableOutput.ResumeFolderOf(cached)));
        return cached;
    }
}
