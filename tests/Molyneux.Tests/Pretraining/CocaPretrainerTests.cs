using System.Text.Json;
using Molyneux.Captioning;
using Molyneux.Checkpoints;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Tests.Captioning;
using Molyneux.Tests.Cli;
using Molyneux.Tests.KnowledgeTransfer;
using Molyneux.Worlds;

namespace Molyneux.Tests.Pretraining;

/// <summary><c>pretrain --objective coca</c>: a CoCa trained from scratch on the shapes world is written as an open_clip
/// folder that <c>molyneux caption</c> loads and captions with, its loss falls when it overfits one small batch, and bad
/// options are refused before any work.</summary>
public sealed class CocaPretrainerTests
{
    private static ShapesPretrainingData Data(int count, int probeScenes) =>
        new(new ShapesWorld(new ShapesWorldOptions { ImageSize = 32 }), count, seed: 3, probeImagesPerClass: 2, captionProbeScenes: probeScenes);

    private static PretrainOptions Options(int steps, int batchSize, int evaluationPoints) => new()
    {
        Objective = PretrainObjective.Coca, Preset = "coca-micro", Steps = steps, BatchSize = batchSize, EvaluationPoints = evaluationPoints,
        Seed = 7, LearningRate = 2e-3, WarmupFraction = 0.1,
    };

    [Fact]
    public void A_few_steps_on_shapes_write_a_model_that_caption_loads_and_that_generates()
    {
        using var folder = new TestPaths.TempFolder();
        var output = folder.File("coca");
        var steps = new List<PretrainProgress>();
        var record = new CocaPretrainer(Data(count: 200, probeScenes: 3), Options(steps: 4, batchSize: 8, evaluationPoints: 2), ComputeDevice.Cpu)
        {
            Progress = new SynchronousProgress<PretrainProgress>(steps.Add),
        }.Run(output);

        Assert.Equal([1, 2, 3, 4], steps.Select(p => p.Step));
        Assert.All(steps, p => Assert.True(double.IsFinite(p.Loss) && p.Loss > 0 && p.TotalSteps == 4));
        // Curve points at steps 2 and 4 carry the validation probe; the test probe is measured once, at the end.
        Assert.Equal([2, 4], record.Curve.Select(p => p.Step));
        Assert.All(record.Curve, p => Assert.Equal(["validation_bleu_4", "validation_cider_d"], p.Probes!.Keys.Order()));
        Assert.Contains("test_cider_d", record.Final.Keys);
        Assert.Contains("test_bleu_4", record.Final.Keys);
        Assert.Equal(4, record.Final["steps"]);
        foreach (var file in new[] { "model.safetensors", CocaCheckpoint.ConfigFileName, "training.json", "training.png", CocaPretrainer.SamplesFileName, CocaPretrainer.SamplesPageFileName })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        using (var samples = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, CocaPretrainer.SamplesFileName))))
        {
            var probes = samples.RootElement.EnumerateArray().ToList();
            Assert.Equal(["validation", "test"], probes.Select(p => p.GetProperty("probe").GetString()));
            // Each held-out scene is scored against five references, its own caption first.
            Assert.All(probes, p => Assert.All(p.GetProperty("captions").EnumerateArray(), c => Assert.Equal(5, c.GetProperty("references").GetArrayLength())));
            // samples.html shows the same samples, each beside its 32-pixel scene.
            var page = CaptionPageTests.Rows(File.ReadAllText(Path.Combine(output, CocaPretrainer.SamplesPageFileName)));
            var sampled = probes.SelectMany(p => p.GetProperty("captions").EnumerateArray()).ToList();
            Assert.Equal(sampled.Select(c => c.GetProperty("candidate").GetString()), page.Select(row => row.Caption));
            Assert.Equal(sampled.Select(c => c.GetProperty("references").EnumerateArray().Select(r => r.GetString()!).ToArray()), page.Select(row => row.References.ToArray()));
            Assert.Equal(["validation[0]", "validation[1]", "validation[2]", "test[0]", "test[1]", "test[2]"], page.Select(row => row.Source));
            using var scene = CaptionPageTests.Decode(page[3].Png, folder);
            using var expected = new ShapesWorld(new ShapesWorldOptions { ImageSize = 32 }).Generate(1, seed: 3 + 4)[0].ToTensor();
            TensorAssert.Close(expected, scene, 0);
        }

        // The library reads the folder back as the model it wrote, and the CLI captions with it.
        using (var loaded = CocaCheckpoint.Load(output, Path.Combine(output, CocaCheckpoint.ConfigFileName)))
        {
            Assert.Equal(32, loaded.Config.Vision.ImageSize);
            Assert.Equal(49408, loaded.Config.VocabSize);
        }
        Assert.Equal(0, CliRunner.Run("data", "shapes", "--out", folder.File("scenes"), "--count", "2").ExitCode);
        // Without --config: the folder's own open_clip_config.json.
        var result = CliRunner.Run("caption", "--model", output,
            "--image", Path.Combine(folder.File("scenes"), "images"), "--max-length", "8", "--json");
        Assert.True(result.ExitCode == 0, result.Error);
        using var captions = JsonDocument.Parse(result.Output);
        var generated = captions.RootElement.GetProperty("captions").EnumerateArray().ToList();
        Assert.Equal(2, generated.Count);
        Assert.All(generated, caption =>
        {
            var ids = caption.GetProperty("ids").EnumerateArray().Select(id => id.GetInt64()).ToList();
            Assert.Equal(49406, ids[0]);
            Assert.InRange(ids.Count, 2, 8);
        });
    }

    [Fact]
    public void The_loss_falls_when_the_model_overfits_one_small_batch()
    {
        // Eight scenes and a batch of eight: every step sees the same pairs (only the light warp changes).
        var losses = new List<double>();
        using var folder = new TestPaths.TempFolder();
        new CocaPretrainer(Data(count: 8, probeScenes: 1), Options(steps: 30, batchSize: 8, evaluationPoints: 1), ComputeDevice.Cpu)
        {
            Progress = new SynchronousProgress<PretrainProgress>(p => losses.Add(p.Loss)),
        }.Run(folder.File("overfit"));

        Assert.Equal(30, losses.Count);
        // At the start the captioning loss is about ln 49 408 ≈ 10.8 per token (times 2) plus the contrastive ln 8.
        Assert.InRange(losses[0], 18, 26);
        Assert.True(losses.TakeLast(3).Average() < 0.5 * losses[0], $"loss {losses[0]:F3} → {string.Join(", ", losses.TakeLast(3).Select(l => l.ToString("F3")))}");
    }

    [Theory]
    [InlineData(new[] { "--objective", "x" }, "--objective: expected clip or coca, got 'x'")]
    [InlineData(new[] { "--objective", "coca", "--preset", "small" }, "--preset: the coca objective takes a CoCa preset (coca-micro, coca-tiny)")]
    [InlineData(new[] { "--objective", "coca", "--preset", "ViT-B-32" }, "--preset: the coca objective takes a CoCa preset")]
    public void Bad_coca_options_are_refused_before_any_work(string[] options, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        string[] args = ["pretrain", "--data", "shapes", "--steps", "2", "--out", folder.File("model"), .. options];
        var result = CliRunner.Run(args);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.False(Directory.Exists(folder.File("model")));
    }

    [Fact]
    public void A_resumed_run_equals_an_uninterrupted_one()
    {
        using var folder = new TestPaths.TempFolder();
        var uninterrupted = folder.File("uninterrupted");
        new CocaPretrainer(Data(count: 64, probeScenes: 1), Options(steps: 6, batchSize: 4, evaluationPoints: 2), ComputeDevice.Cpu).Run(uninterrupted);

        var interrupted = folder.File("interrupted");
        using var cancel = new CancellationTokenSource();
        var trainer = new CocaPretrainer(Data(count: 64, probeScenes: 1), Options(steps: 6, batchSize: 4, evaluationPoints: 2), ComputeDevice.Cpu)
        {
            Progress = new SynchronousProgress<PretrainProgress>(report => { if (report.Step == 2) cancel.Cancel(); }),
        };
        Assert.Throws<OperationCanceledException>(() => trainer.Run(interrupted, cancellationToken: cancel.Token));
        Assert.False(Directory.Exists(interrupted));
        Assert.True(File.Exists(Path.Combine(ResumableOutput.ResumeFolderOf(interrupted), CocaCheckpoint.ConfigFileName)));
        var record = new CocaPretrainer(Data(count: 64, probeScenes: 1), Options(steps: 6, batchSize: 4, evaluationPoints: 2), ComputeDevice.Cpu)
            .Run(interrupted, resume: true);
        Assert.Equal([3, 6], record.Curve.Select(p => p.Step));

        using var reference = SafetensorsFile.Open(Path.Combine(uninterrupted, CocaCheckpoint.WeightsFileName));
        using var resumed = SafetensorsFile.Open(Path.Combine(interrupted, CocaCheckpoint.WeightsFileName));
        Assert.Equal(reference.Entries.Keys.Order(), resumed.Entries.Keys.Order());
        foreach (var name in reference.Entries.Keys)
        {
            using var expected = reference.Read(name);
            using var actual = resumed.Read(name);
            Assert.True(TensorAssert.Identical(expected, actual), $"{name} differs");
        }
    }

    [Fact]
    public void The_initialisation_is_a_function_of_the_seed_and_leaves_no_tensor_zero()
    {
        using var first = new CocaModel(CocaPresets.Micro);
        using var second = new CocaModel(CocaPresets.Micro);
        CocaInitialization.Apply(first, seed: 1);
        CocaInitialization.Apply(second, seed: 1);
        var secondParameters = second.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in first.named_parameters())
        {
            Assert.True(parameter.allclose(secondParameters[name], rtol: 0, atol: 0), name);
            var isBias = name.EndsWith("bias", StringComparison.Ordinal);
            Assert.True(isBias || parameter.abs().max().item<float>() > 0, $"{name} is zero");
        }
    }
}
