using Molyneux.Alignment;
using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Onnx;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Tests.KnowledgeTransfer;
using Molyneux.Worlds;

namespace Molyneux.Tests.Alignment;

/// <summary>Alignment on the plain shapes world (one solid shape on black): fresh projections between ImageNet ResNet18
/// and MiniLM learn to answer "which colour?", and only the parts asked for change.</summary>
public sealed class AlignerTests
{
    private static ShapesPretrainingData PlainShapes() =>
        new(new ShapesWorld(ShapesWorldOptions.Plain with { ImageSize = 32 }), count: 256, seed: 0, probeImagesPerClass: 3);

    [Fact]
    public void Aligning_the_projections_teaches_the_colours_and_leaves_the_towers_alone()
    {
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 64, seed: 0);
        model.ResizeImageInput(64);
        var towers = model.Parameters(ModelPart.ImageTower).Concat(model.Parameters(ModelPart.TextTower)).Select(p => p.detach().clone()).ToList();
        var options = new AlignOptions { Train = AlignedParts.Projections, BatchSize = 64, Steps = 60, WarmupSteps = 0, ProjectionLearningRate = 1e-2, ProbeEvery = 1 };
        var result = new Aligner(options).Run(model, PlainShapes());

        Assert.Equal(60, result.Curve.Count);
        var (first, last) = (result.Curve[0].Probes!["color_top1"], result.Curve[^1].Probes!["color_top1"]);
        Assert.True(last >= first + 0.3, $"colour top-1 {first:P0} → {last:P0}");
        Assert.True(result.Curve.TakeLast(5).Average(p => p.Loss) < result.Curve.Take(5).Average(p => p.Loss));
        Assert.All(model.Parameters(ModelPart.ImageTower).Concat(model.Parameters(ModelPart.TextTower)).Zip(towers),
            pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
    }

    [Fact]
    public void Aligning_the_image_projection_alone_keeps_the_text_side_as_it_was()
    {
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 32, seed: 0);
        model.ResizeImageInput(32);
        var (image, text) = (model.Model.visual_projection.weight!.detach().clone(), model.Model.text_projection.weight!.detach().clone());
        var options = new AlignOptions { Train = AlignedParts.ImageProjection, BatchSize = 32, Steps = 3, ProbeEvery = 0 };
        var result = new Aligner(options).Run(model, PlainShapes());

        Assert.True(model.Model.text_projection.weight!.equal(text).all().item<bool>());
        Assert.False(model.Model.visual_projection.weight!.equal(image).all().item<bool>());
        Assert.Equal(image.numel() + 1, result.TrainableParameters);  // and the temperature
    }

    [Fact]
    public void Unlocking_one_stage_trains_that_stage_and_nothing_below_it()
    {
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 32, seed: 0);
        model.ResizeImageInput(64);
        var vision = (ResNetModel)model.Model.vision_model;
        var below = vision.layer3.parameters().Concat(vision.conv1.parameters()).Select(p => p.detach().clone()).ToList();
        var top = vision.layer4.parameters().Select(p => p.detach().clone()).ToList();
        var options = new AlignOptions { Train = AlignedParts.Projections | AlignedParts.ImageTower, UnlockedImageStages = 1, BatchSize = 16, Steps = 2, ProbeEvery = 0 };
        var result = new Aligner(options).Run(model, PlainShapes());

        Assert.All(vision.layer3.parameters().Concat(vision.conv1.parameters()).Zip(below), pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
        Assert.Contains(vision.layer4.parameters().Zip(top), pair => !pair.First.equal(pair.Second).all().item<bool>());
        var expected = vision.layer4.parameters().Sum(p => p.numel()) + new[] { ModelPart.ImageProjection, ModelPart.TextProjection, ModelPart.Temperature }
            .SelectMany(model.Parameters).Sum(p => p.numel());
        Assert.Equal(expected, result.TrainableParameters);
        Assert.NotNull(result.Curve[^1].Probes);
    }

    [Fact]
    public void Warped_views_are_encoded_once_and_take_turns_by_epoch_reproducibly()
    {
        // 256 scenes in batches of 128: steps 1-2 are epoch 0 (the plain images), steps 3-4 epoch 1 (view 2, warped).
        IReadOnlyList<double> Losses(int views, List<string> stages)
        {
            using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 16, seed: 0);
            model.ResizeImageInput(32);
            var options = new AlignOptions { Train = AlignedParts.Projections, BatchSize = 128, Steps = 4, ImageViews = views, ProbeEvery = 0 };
            var progress = new Molyneux.Tests.KnowledgeTransfer.SynchronousProgress<AlignProgress>(p => { if (p.Stage is not null) stages.Add(p.Stage); });
            return new Aligner(options) { Progress = progress }.Run(model, PlainShapes()).Curve.Select(point => point.Loss).ToList();
        }
        var stages = new List<string>();
        var plain = Losses(1, []);
        var viewed = Losses(2, stages);
        var again = Losses(2, []);

        Assert.Contains(stages, stage => stage.Contains("view 2 of 2"));
        Assert.Equal(plain.Take(2), viewed.Take(2));
        Assert.NotEqual(plain[2], viewed[2]);
        Assert.Equal(viewed, again);
    }

    [Theory]
    [InlineData("projections", AlignedParts.Projections)]
    [InlineData("image-projection", AlignedParts.ImageProjection)]
    [InlineData("image+projections", AlignedParts.Projections | AlignedParts.ImageTower)]
    [InlineData("all", AlignedParts.Projections | AlignedParts.ImageTower | AlignedParts.TextTower)]
    public void Train_spellings_parse(string spelling, AlignedParts parts) => Assert.Equal(parts, AlignOptions.ParseTrain(spelling));

    [Fact]
    public void An_interrupted_run_resumed_from_its_state_ends_as_an_uninterrupted_one()
    {
        // 64 scenes in batches of 16: four steps an epoch, so the cut after step 5 falls inside the second epoch.
        var options = new AlignOptions { Train = AlignedParts.Projections, BatchSize = 16, Steps = 7, WarmupSteps = 2, ImageViews = 2, ProbeEvery = 3 };
        ShapesPretrainingData Data() => new(new ShapesWorld(ShapesWorldOptions.Plain with { ImageSize = 32 }), count: 64, seed: 0, probeImagesPerClass: 2);
        DualEncoderPipeline Model()
        {
            var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 16, seed: 0);
            model.ResizeImageInput(32);
            return model;
        }
        using var uninterrupted = Model();
        var expected = new Aligner(options).Run(uninterrupted, Data());

        using var folder = new TestPaths.TempFolder();
        var output = folder.File("aligned");
        using var cancel = new CancellationTokenSource();
        using (var interrupted = Model())
        {
            var first = new Aligner(options)
            {
                State = new ResumableOutput(output, Aligner.StateFile, resume: false, overwrite: false),
                Progress = new SynchronousProgress<AlignProgress>(report => { if (report.Step == 5) cancel.Cancel(); }),
            };
            Assert.Throws<OperationCanceledException>(() => first.Run(interrupted, Data(), cancel.Token));
        }
        Assert.Contains("--resume", Assert.Throws<OptionException>(() => new ResumableOutput(output, Aligner.StateFile, resume: false, overwrite: false)).Message);
        Assert.Contains("other options", Assert.Throws<OptionException>(() => new Aligner(options with { BatchSize = 32 })
        {
            State = new ResumableOutput(output, Aligner.StateFile, resume: true, overwrite: false),
        }.Run(Model(), Data())).Message);

        using var resumed = Model();
        var result = new Aligner(options) { State = new ResumableOutput(output, Aligner.StateFile, resume: true, overwrite: false) }.Run(resumed, Data());

        Assert.Equal(expected.Curve.Select(point => point.Loss), result.Curve.Select(point => point.Loss));
        Assert.Equal(expected.Curve[^1].Probes, result.Curve[^1].Probes);
        foreach (var part in new[] { ModelPart.ImageProjection, ModelPart.TextProjection, ModelPart.Temperature })
            Assert.All(uninterrupted.Parameters(part).Zip(resumed.Parameters(part)), pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
    }

    [Fact]
    public void A_time_budget_becomes_the_steps_that_fit_after_the_set_up()
    {
        using var model = DualEncoderCheckpoint.FromBuiltInTowers(projectionDim: 16, seed: 0);
        model.ResizeImageInput(32);
        var data = new ShapesPretrainingData(new ShapesWorld(ShapesWorldOptions.Plain with { ImageSize = 32 }), count: 64, seed: 0, probeImagesPerClass: 2);
        var options = new AlignOptions { BatchSize = 16, ImageViews = 1, ProbeEvery = 0, Minutes = 0.05 };

        var result = new Aligner(options).Run(model, data);

        // Whatever the machine's speed, the run records the steps it worked out and took them all.
        Assert.Equal(result.Options.Steps, result.Curve.Count);
        Assert.NotEqual(options.Steps, result.Options.Steps);
        Assert.Equal(0.05, result.Options.Minutes);
    }

    [Fact]
    public void Bad_options_are_refused_before_any_work()
    {
        Assert.Contains("--train", Assert.Throws<OptionException>(() => AlignOptions.ParseTrain("vision")).Message);
        Assert.Contains("unlocked image stages", Assert.Throws<OptionException>(() => new AlignOptions { UnlockedImageStages = 0 }.Validate()).Message);
        Assert.Contains("batch size", Assert.Throws<OptionException>(() => new AlignOptions { BatchSize = 1 }.Validate()).Message);
    }
}
