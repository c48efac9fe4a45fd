using Molyneux.Asif;
using Molyneux.Runtime;

namespace Molyneux.Worlds.Emoji;

/// <summary>ASIF's default encoders: an image encoder and a text encoder Molyneux trains itself on the emoji world,
/// each without the other modality (<see cref="EmojiImageEncoderTrainer"/>, <see cref="EmojiTextEncoderTrainer"/>),
/// on the pretraining split only (three vendors' drawings; Twitter's style and the held-out concepts unseen). They
/// live in <c>$MOLYNEUX_HOME/models/asif</c> as <c>image/</c> (CLIPVisionModelWithProjection) and <c>text/</c>
/// (CLIPTextModelWithProjection), and are trained on first use.</summary>
public static class DefaultAsifEncoders
{
    public const string ImageFolder = "image";
    public const string TextFolder = "text";

    public static string CachedFolder(string home) => Path.Combine(home, "models", "asif");

    /// <summary>The image and text encoder folders, training them first when absent.</summary>
    public static (string Image, string Text) Resolve(string? home = null, IProgress<string>? messages = null,
        IProgress<EncoderTrainingProgress>? progress = null)
    {
        home ??= MolyneuxHome.Default;
        var folder = CachedFolder(home);
        if (!Directory.Exists(folder))
        {
            var options = new EncoderTrainingOptions();
            messages?.Report($"no ASIF encoders yet: training an image and a text encoder on the emoji world ({options.Minutes} minutes each) into {folder}");
            Train(EmojiInstaller.Install(home, messages), folder, options, overwrite: false, progress);
        }
        return (Path.Combine(folder, ImageFolder), Path.Combine(folder, TextFolder));
    }

    /// <summary>Trains both encoders on the pretraining part of the emoji split (by default the standard one) and
    /// writes <paramref name="output"/>/image and <paramref name="output"/>/text, the folder complete or absent.</summary>
    public static void Train(EmojiManifest manifest, string output, EncoderTrainingOptions options, bool overwrite = false,
        IProgress<EncoderTrainingProgress>? progress = null, EmojiSplitOptions? splitOptions = null)
    {
        var split = EmojiSplits.Split(manifest, splitOptions);
        AtomicFile.WriteDirectory(output, overwrite, folder =>
        {
            var image = Directory.CreateDirectory(Path.Combine(folder, ImageFolder)).FullName;
            new EmojiImageEncoderTrainer(split).Train(image, options, progress);
            var text = Directory.CreateDirectory(Path.Combine(folder, TextFolder)).FullName;
            new EmojiTextEncoderTrainer(split).Train(text, options, progress);
        });
    }
}
