using Molyneux.Captioning;
using Molyneux.Checkpoints;
using static TorchSharp.torch;

namespace Molyneux.Tests.Captioning;

/// <summary>Beam search, sampling and the shared processors on the golden tiny CoCa (../shared/golden/coca). open_clip
/// stored no beam search or sampling output (its README, section 6), so these check the properties the decodings
/// must have, anchored on the stored greedy captions.</summary>
public sealed class CaptionGenerationTests
{
    private static Tensor Pixels()
    {
        using var golden = SafetensorsFile.Open(CocaGoldenTests.GoldenCoca("golden_io.safetensors"));
        return golden.Read("input.pixel_values");
    }

    private static Tensor Stored(string name)
    {
        using var golden = SafetensorsFile.Open(CocaGoldenTests.GoldenCoca("golden_io.safetensors"));
        return golden.Read(name);
    }

    /// <summary>28025: the token greedy picks first for every image, so captions end early (README section 6).</summary>
    private static long AlternativeEnd => Stored("generate.greedy_eos_alt.eos_token_id").item<long>();

    private static string Describe(Tensor ids) => string.Join(" | ", Enumerable.Range(0, (int)ids.shape[0]).Select(row => string.Join(",", ids[row].data<long>().ToArray())));

    /// <summary>The model's log-probability of each caption: the sum over its ids after the start token, up to and
    /// including its end token, of log softmax of the teacher-forced logits.</summary>
    private static double[] SummedLogProbabilities(CocaModel model, Tensor pixels, Tensor ids, long endId)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logProbs = model.forward(pixels, ids)[.., ..^1].log_softmax(-1).gather(2, ids[.., 1..].unsqueeze(2)).squeeze(2);
        var sums = new double[ids.shape[0]];
        for (var row = 0; row < sums.Length; row++)
        {
            var generated = ids[row, 1..].data<long>().ToArray();
            var end = Array.IndexOf(generated, endId);
            var count = end < 0 ? generated.Length : end + 1;
            sums[row] = logProbs[row, ..count].sum().item<float>();
        }
        return sums;
    }

    [Theory]
    [InlineData("generate.greedy", false)]
    [InlineData("generate.greedy_eos_alt", true)]
    public void Beam_search_with_one_beam_is_greedy(string run, bool alternativeEnd)
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        var options = new CaptionOptions { Decoding = CaptionDecoding.BeamSearch, Beams = 1 };
        if (alternativeEnd) options = options with { EndTokenId = AlternativeEnd };
        var ids = CaptionGeneration.Generate(model, Pixels(), options);
        var expected = Stored($"{run}.ids");
        Assert.True(TensorAssert.Identical(expected, ids), $"got {Describe(ids)}, expected {Describe(expected)}");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    public void Beam_search_finds_captions_at_least_as_likely_as_greedy(int beams)
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        var pixels = Pixels();
        var endId = new CaptionOptions().EndTokenId;
        var beam = CaptionGeneration.Generate(model, pixels, new CaptionOptions { Decoding = CaptionDecoding.BeamSearch, Beams = beams });
        var greedy = CaptionGeneration.Generate(model, pixels);
        // The random model never picks the end token, so every caption has 29 generated ids and the length
        // normalisation of beam search ranks by the summed log-probability itself.
        Assert.Equal(30, beam.shape[1]);
        var beamScores = SummedLogProbabilities(model, pixels, beam, endId);
        var greedyScores = SummedLogProbabilities(model, pixels, greedy, endId);
        for (var row = 0; row < beamScores.Length; row++)
            Assert.True(beamScores[row] >= greedyScores[row] - 1e-4, $"image {row}: beam {beamScores[row]} < greedy {greedyScores[row]}");
        Assert.True(beamScores.Zip(greedyScores).Any(pair => pair.First > pair.Second + 1e-3), "beam search found nothing better than greedy on any image");
    }

    public static TheoryData<CaptionDecoding> Decodings => [CaptionDecoding.Greedy, CaptionDecoding.BeamSearch, CaptionDecoding.TopK, CaptionDecoding.TopP];

    [Theory]
    [MemberData(nameof(Decodings))]
    public void Captions_stop_at_the_end_token_and_not_before_the_minimum_length(CaptionDecoding decoding)
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        var options = new CaptionOptions { Decoding = decoding, Beams = 3, TopK = 3, TopP = 0.5, Temperature = 0.3, EndTokenId = AlternativeEnd, MinLength = 7, Seed = 11 };
        var ids = CaptionGeneration.Generate(model, Pixels(), options);
        var ended = 0;
        for (var row = 0; row < ids.shape[0]; row++)
        {
            var caption = ids[row].data<long>().ToArray();
            Assert.Equal(options.StartTokenId, caption[0]);
            var end = Array.IndexOf(caption, options.EndTokenId);
            if (end < 0) continue;
            ended++;
            Assert.True(end >= options.MinLength, $"row {row} ends at {end}, before the minimum length: {Describe(ids)}");
            Assert.All(caption[(end + 1)..], id => Assert.Equal(options.PadTokenId, id));
        }
        Assert.True(ended > 0, $"no caption ended: {Describe(ids)}");
        Assert.True(ids.shape[1] < options.MaxLength || ended < ids.shape[0], "a batch whose captions all ended is cut after the longest");
    }

    [Fact]
    public void The_summary_names_the_decoding_and_the_settings_that_decide_its_captions()
    {
        Assert.Equal("greedy, 5–30 ids", new CaptionOptions().Summary);
        Assert.Equal("beam search (3 beams), 2–12 ids", new CaptionOptions { Decoding = CaptionDecoding.BeamSearch, Beams = 3, MinLength = 2, MaxLength = 12 }.Summary);
        Assert.Equal("top-k 50 sampling (temperature 0.7, seed 4), 5–30 ids", new CaptionOptions { Decoding = CaptionDecoding.TopK, TopK = 50, Temperature = 0.7, Seed = 4 }.Summary);
        Assert.Equal("top-p 0.9 sampling (temperature 1, seed 0), 5–30 ids, repetition penalty 1.2",
            new CaptionOptions { Decoding = CaptionDecoding.TopP, TopP = 0.9, RepetitionPenalty = 1.2 }.Summary);
    }

    [Fact]
    public void Beam_search_captions_each_image_of_a_batch_as_it_captions_it_alone()
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        var pixels = Pixels();
        var options = new CaptionOptions { Decoding = CaptionDecoding.BeamSearch, Beams = 3, EndTokenId = AlternativeEnd };
        var batch = CaptionGeneration.Generate(model, pixels, options);
        for (var row = 0; row < pixels.shape[0]; row++)
        {
            var alone = CaptionGeneration.Generate(model, pixels[row..(row + 1)], options);
            var length = alone.shape[1];
            Assert.True(TensorAssert.Identical(alone[0], batch[row, ..(int)length]), $"image {row}: alone {Describe(alone)}, in the batch {Describe(batch[row..(row + 1)])}");
            Assert.True(batch[row, (int)length..].eq(options.PadTokenId).all().item<bool>(), "padding follows a shorter caption");
        }
    }

    [Theory]
    [InlineData(CaptionDecoding.TopK)]
    [InlineData(CaptionDecoding.TopP)]
    public void Sampling_gives_the_same_captions_for_a_seed_and_others_for_another(CaptionDecoding decoding)
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        var pixels = Pixels();
        var options = new CaptionOptions { Decoding = decoding, TopK = 50, TopP = 0.9, Temperature = 1.5, Seed = 7 };
        var first = CaptionGeneration.Generate(model, pixels, options);
        var again = CaptionGeneration.Generate(model, pixels, options);
        var otherSeed = CaptionGeneration.Generate(model, pixels, options with { Seed = 8 });
        Assert.True(TensorAssert.Identical(first, again), $"{Describe(first)} then {Describe(again)}");
        Assert.False(TensorAssert.Identical(first, otherSeed), "seeds 7 and 8 drew the same captions");
        Assert.False(TensorAssert.Identical(first, CaptionGeneration.Generate(model, pixels)), "sampling drew the greedy captions");
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(2.0)]
    public void Top_k_sampling_with_k_1_is_greedy(double temperature)
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        var ids = CaptionGeneration.Generate(model, Pixels(), new CaptionOptions { Decoding = CaptionDecoding.TopK, TopK = 1, Temperature = temperature, Seed = 3 });
        var expected = Stored("generate.greedy.ids");
        Assert.True(TensorAssert.Identical(expected, ids), $"got {Describe(ids)}, expected {Describe(expected)}");
    }

    [Fact]
    public void A_tiny_top_p_keeps_only_the_most_likely_id_so_sampling_is_greedy()
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        var ids = CaptionGeneration.Generate(model, Pixels(), new CaptionOptions { Decoding = CaptionDecoding.TopP, TopP = 1e-6, Seed = 3 });
        Assert.True(TensorAssert.Identical(Stored("generate.greedy.ids"), ids), $"got {Describe(ids)}");
    }

    [Fact]
    public void A_strong_repetition_penalty_keeps_greedy_from_repeating_an_id()
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var scope = NewDisposeScope();
        // Greedy repeats ids throughout the stored captions; divided or multiplied by 10⁶, a seen id's logit loses
        // to any unseen id with a positive logit.
        var ids = CaptionGeneration.Generate(model, Pixels(), new CaptionOptions { RepetitionPenalty = 1e6 });
        for (var row = 0; row < ids.shape[0]; row++)
        {
            var caption = ids[row].data<long>().ToArray();
            Assert.Equal(caption.Length, caption.Distinct().Count());
        }
    }

    public static TheoryData<CaptionOptions, string> BadOptions => new()
    {
        { new CaptionOptions { Decoding = CaptionDecoding.BeamSearch, Beams = 0 }, "beam count 0" },
        { new CaptionOptions { Decoding = CaptionDecoding.TopP, TopP = 0 }, "top-p 0 is outside (0, 1]" },
        { new CaptionOptions { Decoding = CaptionDecoding.TopP, TopP = 1.5 }, "top-p 1.5 is outside (0, 1]" },
        { new CaptionOptions { Decoding = CaptionDecoding.TopK, TopK = 0 }, "top-k 0" },
        { new CaptionOptions { Decoding = CaptionDecoding.TopK, Temperature = 0 }, "temperature 0" },
        { new CaptionOptions { RepetitionPenalty = -1 }, "repetition penalty -1" },
        { new CaptionOptions { Decoding = CaptionDecoding.BeamSearch, Stopping = CaptionStopping.OpenClipRelease }, "beam search follows open_clip main" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Options_outside_their_range_are_refused(CaptionOptions options, string message)
    {
        using var model = CocaGoldenTests.LoadGolden();
        using var pixels = zeros(1, 3, 32, 32);
        var error = Assert.Throws<OptionException>(() => CaptionGeneration.Generate(model, pixels, options));
        Assert.Contains(message, error.Message);
    }
}
