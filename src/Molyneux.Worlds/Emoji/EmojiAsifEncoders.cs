using Molyneux.Asif;
using Molyneux.Runtime;

namespace Molyneux.Worlds.Emoji;

/// <summary>ASIF encoders Molyneux trains itself on the emoji world (<c>asif train-encoders</c>): an image encoder and
/// a text encoder, each without the other modality (<see cref="EmojiImageEncoderTrainer"/>,
/// <see cref="EmojiTextEncoderTrainer"/>), on the pretraining split only (three vendors' drawings; Twitter's style and
/// the held-out concepts unseen), as <c>image/</c> (CLIPVisionModelWithProjection) and <c>text/</c>
/// (CLIPTextModelWithProjection). ASIF's default encoders are the pretrained ones that come with the build.</summary>
public static class EmojiAsifEncoders
{
    public const string ImageFolder = "image";
    public const string TextFolder = "text";

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
