using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using static Molyneux.Tests.KnowledgeTransfer.FineTuningFixture;
using static TorchSharp.torch;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>Fine-tuning's resumable state: a run interrupted and resumed from its last saved state ends where an
/// uninterrupted one does, and a run whose loss stops being finite stops with its last good state kept.</summary>
public sealed class FineTuningResumeTests
{
    private static FineTuneOptions Recipe(string name) => name switch
    {
        "image" => new FineTuneOptions { Train = TrainMode.Image, LearningRate = 1e-4 },
        "text with adam and clipping" => new FineTuneOptions { Train = TrainMode.Text, Optimizer = OptimizerKind.Adam, GradientClipNorm = 0.5, LearningRate = 1e-4 },
        "lora" => new FineTuneOptions { Train = TrainMode.Image, Lora = new LoraOptions(2, 2), LearningRate = 1e-3 },
        _ => new FineTuneOptions { Train = TrainMode.Token, TokenWord = "moongate", LearningRate = 1e-3 },
    };

    private static float MaxDifference(ClipModel a, ClipModel b)
    {
        using var scope = NewDisposeScope();
        var other = b.named_parameters().ToDictionary(entry => entry.name, entry => entry.parameter);
        return a.named_parameters().Max(entry => (entry.parameter - other[entry.name]).abs().max().item<float>());
    }

    [Theory]
    [InlineData("image")]
    [InlineData("text with adam and clipping")]
    [InlineData("lora")]
    [InlineData("token")]
    public void FineTuning_interrupted_and_resumed_equals_an_uninterrupted_run(string recipe)
    {
        using var folder = new TestPaths.TempFolder();
        // Four pairs in batches of three: two steps per epoch, so the state saved at step 3 lies inside an epoch.
        var options = Recipe(recipe) with { Steps = 7, BatchSize = 3, Seed = 3, SaveStateEvery = 3, StatePath = folder.File("state.safetensors") };
        using var uninterrupted = LoadModelA();
        var expected = new FineTuner(options with { SaveStateEvery = 0 }).Run(uninterrupted, Data());

        using (var interrupted = LoadModelA())
        {
            var tuner = new FineTuner(options)
            {
                Progress = new SynchronousProgress<FineTuneProgress>(p => { if (p.Step == 5) throw new OperationCanceledException(); }),
            };
            Assert.Throws<OperationCanceledException>(() => tuner.Run(interrupted, Data()));
        }

        using var state = FineTuneState.Load(options.StatePath);
        Assert.Equal(3, state.Step);
        using var resumed = LoadModelA();
        var result = new FineTuner(options).Run(resumed, Data(), state);
        Assert.Equal(expected.Losses, result.Losses);
        Assert.True(MaxDifference(uninterrupted.Model, resumed.Model) <= 1e-6);
        Assert.Equal(uninterrupted.Tokenizer.VocabularySize, resumed.Tokenizer.VocabularySize);
    }

    [Fact]
    public void FineTuning_resumes_only_under_the_same_options_and_data()
    {
        using var folder = new TestPaths.TempFolder();
        var options = Recipe("image") with { Steps = 3, BatchSize = 2, SaveStateEvery = 1, StatePath = folder.File("state.safetensors") };
        using (var clip = LoadModelA())
            new FineTuner(options).Run(clip, Data());
        using var state = FineTuneState.Load(options.StatePath);

        using var fresh = LoadModelA();
        Assert.Throws<OptionException>(() => new FineTuner(options with { Seed = 9 }).Run(fresh, Data(), state));
        Assert.Throws<OptionException>(() => new FineTuner(options).Run(fresh, Data() with { Images = RandomImages(4, seed: 2) }, state));
        Assert.Throws<OptionException>(() => new FineTuner(options with { SaveStateEvery = -1 }).Run(fresh, Data()));
    }

    [Fact]
    public void FineTuning_that_diverges_stops_and_keeps_the_last_good_state()
    {
        using var folder = new TestPaths.TempFolder();
        var options = Recipe("image") with { Steps = 8, BatchSize = 2, SaveStateEvery = 2, StatePath = folder.File("state.safetensors") };
        using var clip = LoadModelA();
        // After step 3 a weight becomes NaN, as a far too large learning rate would make it: step 4's loss is not finite.
        var tuner = new FineTuner(options)
        {
            Progress = new SynchronousProgress<FineTuneProgress>(p =>
            {
                if (p.Step != 3) return;
                using var _ = no_grad();
                clip.Model.named_parameters().First(entry => entry.name == "visual_projection.weight").parameter.fill_(double.NaN);
            }),
        };

        var error = Assert.Throws<DivergenceException>(() => tuner.Run(clip, Data()));
        Assert.Contains("fine-tuning diverged at step 4", error.Message);
        Assert.Contains(options.StatePath, error.Message);
        using var state = FineTuneState.Load(options.StatePath);
        Assert.Equal(2, state.Step);
        Assert.All(state.Trainable, tensor => Assert.True(isfinite(tensor).all().item<bool>()));
    }

    [Fact]
    public void Inversion_that_diverges_stops_and_keeps_the_last_good_state()
    {
        using var folder = new TestPaths.TempFolder();
        using var clip = LoadModelA();
        var options = new InversionOptions { Steps = 8, ImagesPerConcept = 1, AugmentedCopies = 1, SaveStateEvery = 2, StatePath = folder.File("state.safetensors") };
        var poison = new SynchronousProgress<InversionProgress>(p =>
        {
            if (p.Latest.Step != 3) return;
            using var _ = no_grad();
            clip.Model.named_parameters().First(entry => entry.name == "visual_projection.weight").parameter.fill_(double.PositiveInfinity);
        });

        var error = Assert.Throws<DivergenceException>(() => Inversion.Run(clip, ["a red circle"], options, progress: poison));
        Assert.Contains("inversion diverged at step 4", error.Message);
        using var state = InversionState.Load(options.StatePath);
        Assert.Equal(2, state.Step);
    }
}
