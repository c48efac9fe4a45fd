using Molyneux.Modeling;

namespace Molyneux.Checkpoints;

/// <summary>Loads any vision-language model Molyneux reads, by what the path holds: a Hugging Face
/// <c>VisionTextDualEncoderModel</c> folder (<see cref="DualEncoderCheckpoint"/>) or a CLIP in any of its layouts
/// (<see cref="ClipCheckpoint"/>).</summary>
public static class VisionLanguageCheckpoint
{
    public static IVisionLanguageModel Load(string path, ClipLoadOptions? options = null)
    {
        options ??= new ClipLoadOptions();
        if (!DualEncoderCheckpoint.IsDualEncoderFolder(path)) return ClipCheckpoint.Load(path, options);
        var clipOnly = new (bool Given, string Option)[]
        {
            (options.ConfigPath is not null, "--config"), (options.TokenizerPath is not null, "--tokenizer"), (options.TextHeads is not null, "--text-heads"),
            (options.VisionHeads is not null, "--vision-heads"), (options.ImageSize is not null, "--image-size"),
        }.Where(entry => entry.Given).Select(entry => entry.Option).ToList();
        if (clipOnly.Count > 0)
            throw new OptionException($"{path}: a dual encoder folder carries its own config, tokenizer and image size; {string.Join(", ", clipOnly)} apply to CLIP checkpoints only");
        return DualEncoderCheckpoint.Load(path, options.Device);
    }
}
