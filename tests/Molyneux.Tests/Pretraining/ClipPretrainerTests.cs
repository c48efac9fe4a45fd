using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Tests.KnowledgeTransfer;
using Molyneux.Worlds;
using static TorchSharp.torch;

namespace Molyneux.Tests.Pretraining;

public sealed class ClipPretrainerTests
{
    private static ShapesPretrainingData Data() =>
        new(new ShapesWorld(new ShapesWorldOptions { ImageSize = 32 }), count: 2000, seed: 3, probeImagesPerClass: 4);

    private static PretrainOptions Options(int steps) => new()
    {
        Preset = "molyneux-micro", Steps = steps, BatchSize = 16, VocabularySize = 600, EvaluationPoints = 2, Seed = 5, LearningRate = 2e-3,
    };

    private static Dictionary<string, Tensor> Weights(string folder)
    {
        using var file = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors"));
        return file.Entries.Keys.ToDictionary(name => name, file.Read);
    }

    [Fact]
    public void Pretraining_writes_a_loadable_model_with_its_learning_curve_and_the_loss_goes_down()
    {
        using var folder = new TestPaths.TempFolder();
        var output = folder.File("model");
        var record = new ClipPretrainer(Data(), Options(40), ComputeDevice.Cpu).Run(output);

        using var clip = ClipCheckpoint.Load(output);
        Assert.Equal(32, clip.Model.Config.Vision.ImageSize);
        Assert.Equal(clip.Tokenizer.EndOfTextId, clip.Model.Config.Text.EosTokenId);
        Assert.True(File.Exists(Path.Combine(output, "training.png")));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "training.json")));
        var final = json.RootElement.GetProperty("final");
        Assert.Equal(40, final.GetProperty("steps").GetInt32());
        foreach (var probe in new[] { "color_top1", "color_top5", "shape_top1", "shape_top5" })
            Assert.InRange(final.GetProperty(probe).GetDouble(), 0, 1);
        Assert.Equal(2, record.Curve.Count);
        Assert.True(record.Curve[^1].Loss < record.Curve[0].Loss, $"loss {record.Curve[0].Loss} → {record.Curve[^1].Loss}");
        Assert.False(Directory.Exists(ResumableOutput.ResumeFolderOf(output)));
    }

    [Fact]
    public void The_same_seed_gives_the_same_model_and_a_resumed_run_equals_an_uninterrupted_one()
    {
        using var folder = new TestPaths.TempFolder();
        var uninterrupted = folder.File("uninterrupted");
        new ClipPretrainer(Data(), Options(8), ComputeDevice.Cpu).Run(uninterrupted);

        var interrupted = folder.File("interrupted");
        using var cancel = new CancellationTokenSource();
        var trainer = new ClipPretrainer(Data(), Options(8), ComputeDevice.Cpu)
        {
            Progress = new SynchronousProgress<PretrainProgress>(report => { if (report.Step == 3) cancel.Cancel(); }),
        };
        Assert.Throws<OperationCanceledException>(() => trainer.Run(interrupted, cancellationToken: cancel.Token));
        Assert.False(Directory.Exists(interrupted));
        var error = Assert.Throws<OptionException>(() => new ClipPretrainer(Data(), Options(8), ComputeDevice.Cpu).Run(interrupted));
        Assert.Contains("--resume", error.Message);
        new ClipPretrainer(Data(), Options(8), ComputeDevice.Cpu).Run(interrupted, resume: true);

        var again = folder.File("again");
        new ClipPretrainer(Data(), Options(8), ComputeDevice.Cpu).Run(again);
        var reference = Weights(uninterrupted);
        foreach (var other in new[] { Weights(interrupted), Weights(again) })
            foreach (var (name, tensor) in reference)
                Assert.True(TensorAssert.Identical(tensor, other[name]), $"{name} differs");
    }
}
