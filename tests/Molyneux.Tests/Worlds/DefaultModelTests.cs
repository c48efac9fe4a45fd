using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Tests.KnowledgeTransfer;
using Molyneux.Worlds.Emoji;
using static TorchSharp.torch;

namespace Molyneux.Tests.Worlds;

public sealed class DefaultModelTests
{
    [Fact]
    public void The_default_model_is_assembled_once_from_the_builds_towers_and_the_shipped_projections()
    {
        using var home = new TestPaths.TempFolder();
        using var scope = NewDisposeScope();
        using var aligned = DefaultModel.NewModel();
        using (no_grad())
        {
            aligned.Model.visual_projection.weight!.mul_(-1);
            aligned.LogitScale.fill_(3.0f);
        }
        var projections = home.File("shipped.safetensors");
        DualEncoderCheckpoint.SaveProjections(aligned, projections);
        var messages = new List<string>();

        var folder = DefaultModel.Resolve(home.Path, new SynchronousProgress<string>(messages.Add), projections: projections);

        Assert.Equal(DefaultModel.CachedFolder(home.Path), folder);
        Assert.Contains(messages, message => message.Contains("assembling the default model") && message.Contains(projections));
        using var loaded = VisionLanguageCheckpoint.Load(folder);
        var model = Assert.IsType<DualEncoderPipeline>(loaded);
        Assert.Equal(DefaultModel.InputSize, model.ImageSize);
        var pixels = rand([2, 3, DefaultModel.InputSize, DefaultModel.InputSize], generator: new Generator(1));
        TensorAssert.Close(aligned.EncodePixels(aligned.Normalize(pixels)), model.EncodePixels(model.Normalize(pixels)), 0);
        string[] texts = ["banana", "a pink bird with long legs"];
        TensorAssert.Close(aligned.EncodeTexts(texts), model.EncodeTexts(texts), 0);

        // Found, not rebuilt: the projections file is no longer read.
        File.Delete(projections);
        messages.Clear();
        Assert.Equal(folder, DefaultModel.Resolve(home.Path, new SynchronousProgress<string>(messages.Add), projections: projections));
        Assert.Empty(messages);
    }
}
