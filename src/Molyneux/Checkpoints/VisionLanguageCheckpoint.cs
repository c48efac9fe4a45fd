using Molyneux.Modeling;

namespace Molyneux.Checkpoints;

/// <summary>Loads any vision-language model Molyneux reads, by what the path holds: a Hugging Face
/// <c>VisionTextDualEncoderModel</c> folder (<see cref="DualEncoderCheckpoint"/>), an open_clip CoCa (its config has
/// <c>multimodal_cfg</c>; <see cref="Captioning.CocaCheckpoint"/>) or a CLIP in any of its layouts (<see cref="ClipCheckpoint"/>).</summary>
public static class VisionLanguageCheckpoint
{
    public static IVisionLanguageModel Load(string path, ClipLoadOptions? options = null)
    {
        options ??= new ClipLoadOptions();
        if (Captioning.CocaCheckpoint.IsCoca(path, options.ConfigPath)) return LoadCoca(path, options);
        if (!DualEncoderCheckpoint.IsDualEncoderFolder(path)) return ClipCheckpoint.Load(path, options);
        RefuseClipOnlyOptions(path, options, "a dual encoder folder carries its own config, tokenizer and image size", configApplies: false);
        return DualEncoderCheckpoint.Load(path, options.Device);
    }

    /// <summary>A CoCa: its open_clip config holds the architecture and it uses OpenAI's BPE at its own size, so the
    /// options that reshape a CLIP do not apply.</summary>
    private static IVisionLanguageModel LoadCoca(string path, ClipLoadOptions options)
    {
        RefuseClipOnlyOptions(path, options, "a CoCa's open_clip config holds its architecture and it tokenizes with OpenAI's BPE", configApplies: true);
        return Captioning.CocaCheckpoint.LoadPipeline(path, options.ConfigPath, options.Device);
    }

    /// <summary>Stops on the options that reshape a CLIP when the model is of another kind; <paramref name="why"/>
    /// says why they do not apply, and <paramref name="configApplies"/> whether the kind takes <c>--config</c>.</summary>
    private static void RefuseClipOnlyOptions(string path, ClipLoadOptions options, string why, bool configApplies)
    {
        var clipOnly = new (bool Given, string Option)[]
        {
            (!configApplies && options.ConfigPath is not null, "--config"), (options.TokenizerPath is not null, "--tokenizer"), (options.TextHeads is not null, "--text-heads"),
            (options.VisionHeads is not null, "--vision-heads"), (options.ImageSize is not null, "--image-size"),
        }.Where(entry => entry.Given).Select(entry => entry.Option).ToList();
        if (clipOnly.Count > 0)
            throw new OptionException($"{path}: {why}; {string.Join(", ", clipOnly)} apply to CLIP checkpoints only");
    }
}
