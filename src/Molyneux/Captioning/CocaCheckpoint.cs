using Molyneux.Checkpoints;

namespace Molyneux.Captioning;

/// <summary>Reads and writes CoCa checkpoints in open_clip's naming: a safetensors file (optionally gzip-compressed)
/// holding exactly open_clip's <c>state_dict()</c>, with an open_clip model config JSON beside it or anywhere.
/// Loading is strict: every missing, unexpected or mis-shaped tensor is reported by name.</summary>
public static class CocaCheckpoint
{
    /// <summary>The weight file names looked for when a folder is given.</summary>
    public static IReadOnlyList<string> WeightNames { get; } = ["model.safetensors", "model.safetensors.gz", "open_clip_model.safetensors"];

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
