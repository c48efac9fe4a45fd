using Molyneux.Checkpoints;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Tests.Modeling;

/// <summary><see cref="IVisionLanguageModel.Copy"/>: the same features and identity, and weights of its own.</summary>
public sealed class ModelCopyTests
{
    private static readonly string[] Texts = ["a red heart", "three green squares"];

    public static TheoryData<string> Kinds => ["clip", "dual encoder"];

    private static IVisionLanguageModel Load(string kind) => kind == "clip"
        ? ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"))
        : DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 16, seed: 5);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_copy_encodes_as_the_original_and_training_it_leaves_the_original_as_it_was(string kind)
    {
        using var original = Load(kind);
        using var pixels = rand([2, 3, original.ImageSize, original.ImageSize], generator: new Generator(7));
        using var imageBefore = original.EncodePixels(original.Normalize(pixels));
        using var textBefore = original.EncodeTexts(Texts);

        using var copy = original.Copy();
        Assert.Equal(original.Identity, copy.Identity);
        using (var copyImages = copy.EncodePixels(copy.Normalize(pixels)))
            Assert.True(copyImages.equal(imageBefore).all().item<bool>(), "the copy's image features differ");
        using (var copyTexts = copy.EncodeTexts(Texts))
            Assert.True(copyTexts.equal(textBefore).all().item<bool>(), "the copy's text features differ");

        // A step of training on the copy: every parameter moves.
        using (no_grad())
            foreach (var parameter in copy.Module.parameters()) parameter.add_(0.01);
        copy.WeightsChanged();
        Assert.NotEqual(original.Identity, copy.Identity);
        using var imageAfter = original.EncodePixels(original.Normalize(pixels));
        using var textAfter = original.EncodeTexts(Texts);
        Assert.True(imageAfter.equal(imageBefore).all().item<bool>(), "training the copy changed the original's image features");
        Assert.True(textAfter.equal(textBefore).all().item<bool>(), "training the copy changed the original's text features");
    }
}
