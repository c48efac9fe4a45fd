using Molyneux.Checkpoints;

namespace Molyneux.Captioning;

/// <summary>Reads and writes CoCa checkpoints in open_clip's naming: a safetensors file (optionally gzip-compressed)
/// holding exactly open_clip's <c>state_dict()</c>, with an open_clip model config JSON beside it or anywhere.
/// Loading is strict: every missing, unexpected or mis-shaped tensor is reported by name.</summary>
public static class CocaCheckpoint
{
    /// <summary>The open_clip model config of a CoCa folder, beside the weights (open_clip's hub layout names it so).</summary>
    public const string ConfigFileName = "open_clip_config.json";

    /// <summary>The weights file a CoCa folder is written with.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The weight file names looked for when a folder is given.</summary>
    public static IReadOnlyList<string> WeightNames { get; } = [WeightsFileName, "model.safetensors.gz", "open_clip_model.safetensors"];

    /// <summary>The config of <paramref name="weightsPath"/>: <paramref name="configPath"/> when given, else the
    /// open_clip config inside the folder <paramref name="weightsPath"/>; null when neither is there.</summary>
    public static string? ConfigOf(string weightsPath, string? configPath)
    {
        if (configPath is not null) return configPath;
        var beside = Path.Combine(weightsPath, ConfigFileName);
        return Directory.Exists(weightsPath) && File.Exists(beside) ? beside : null;
    }

    /// <summary>Whether <paramref name="weightsPath"/> (with <paramref name="configPath"/>, when given) is a CoCa: its
    /// config, given or found in the folder, has open_clip's <c>multimodal_cfg</c>.</summary>
    public static bool IsCoca(string weightsPath, string? configPath) =>
        ConfigOf(weightsPath, configPath) is { } config && File.Exists(config) && CocaConfig.DescribesCoca(config);

    /// <summary>A CoCa as an <see cref="Modeling.IVisionLanguageModel"/> that also captions, on <paramref name="device"/>.</summary>
    /// <param name="weightsPath">A safetensors file, or a folder holding one of <see cref="WeightNames"/>.</param>
    /// <param name="configPath">The open_clip model config; null: the folder's <see cref="ConfigFileName"/>.</param>
    /// <param name="device">Where the model runs.</param>
    public static CocaPipeline LoadPipeline(string weightsPath, string? configPath, Runtime.ComputeDevice device)
    {
        var config = ConfigOf(weightsPath, configPath)
                     ?? throw new OptionException($"{weightsPath}: a CoCa needs its open_clip model config: give --config, or keep {ConfigFileName} in the model folder");
        var model = Load(weightsPath, config);
        var source = new CheckpointSource(Path.GetFullPath(weightsPath), Path.GetFullPath(LocateWeights(weightsPath)), "open_clip", "open_clip", []);
        return new CocaPipeline(model, device, source);
    }

    /// <summary>Writes a CoCa folder, <see cref="WeightsFileName"/> and <see cref="ConfigFileName"/>, into an existing
    /// folder: what <see cref="LoadPipeline"/>, <c>caption --model DIR</c> and open_clip read.</summary>
    public static void SaveFolder(CocaModel model, string folder) =>
        Save(model, Path.Combine(folder, WeightsFileName), Path.Combine(folder, ConfigFileName));

    /// <param name="weightsPath">A safetensors file (gzip-compressed or not), or a folder holding one of <see cref="WeightNames"/>.</param>
    /// <param name="configPath">The open_clip model config (as open_clip's <c>model_configs/coca_ViT-B-32.json</c>).</param>
    public static CocaModel Load(string weightsPath, string configPath)
    {
        var config = CocaConfig.FromFile(configPath);
        var file = LocateWeights(weightsPath);
        RequireEnoughValues(file, config, configPath);
        var model = new CocaModel(config);
        try
        {
            ModuleWeights.Load(model, file, fileNameOf: name => name, isIgnorable: _ => false);
        }
        catch (CheckpointException e)
        {
            model.Dispose();
            throw new CheckpointException($"{configPath}: describes a model that does not match the weights: {e.Message}", e);
        }
        return model;
    }

    /// <summary>Writes the weights in open_clip's naming (loadable by open_clip with strict key matching) and, when
    /// <paramref name="configPath"/> is given, the config in open_clip's format; each file atomically.</summary>
    public static void Save(CocaModel model, string weightsPath, string? configPath = null)
    {
        ModuleWeights.Save(model, weightsPath, fileNameOf: name => name);
        if (configPath is not null) model.Config.Save(configPath);
    }

    /// <summary>Loading reports a config that disagrees with the weights tensor by tensor, but only after allocating
    /// the model, and a corrupt size (a layer count of 2³¹) would exhaust memory first. A config describing more than
    /// twice the values the file holds cannot belong to it and is refused here; closer ones get the detailed report.</summary>
    private static void RequireEnoughValues(string weightsPath, CocaConfig config, string configPath)
    {
        using var file = SafetensorsFile.Open(weightsPath);
        var stored = file.Entries.Values.Sum(entry => (double)(entry.End - entry.Begin) / entry.DType.ByteSize());
        if (config.ParameterCount > 2 * stored)
            throw new CheckpointException($"{configPath}: describes a model that does not match the weights: {config.ParameterCount:N0} " +
                                          $"parameters, but {weightsPath} holds only {stored:N0} values");
    }

    private static string LocateWeights(string path)
    {
        if (File.Exists(path)) return path;
        if (Directory.Exists(path))
            return WeightNames.Select(name => Path.Combine(path, name)).FirstOrDefault(File.Exists)
                   ?? throw new CheckpointException($"{path}: none of {string.Join(", ", WeightNames)} in this folder");
        throw new CheckpointException($"{path}: no such file or folder");
    }
}
