// One CLIP forward pass through the Molyneux package, as an application would write it: image features of one
// image, text features of one text, their cosine. Run by build/pack-check.sh; exits 0 only when all of it worked.
using Molyneux.Checkpoints;
using static TorchSharp.torch;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: PackageConsumer MODEL_FOLDER IMAGE TEXT");
    return 2;
}

using var clip = ClipCheckpoint.Load(args[0]);
using var image = clip.EncodeImages([args[1]]);
using var text = clip.EncodeTexts([args[2]]);
using var cosine = nn.functional.cosine_similarity(image, text, dim: 1);
var value = cosine.item<float>();
Console.WriteLine($"image features {string.Join('x', image.shape)}, text features {string.Join('x', text.shape)}, cosine {value:F4}");
return float.IsFinite(value) && value is >= -1.0001f and <= 1.0001f ? 0 : 1;
