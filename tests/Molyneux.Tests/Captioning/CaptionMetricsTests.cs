using Molyneux.Captioning;
using Molyneux.Evaluation;
using Molyneux.Tests.Evaluation;
using Molyneux.Tests.KnowledgeTransfer;
using static TorchSharp.torch;

namespace Molyneux.Tests.Captioning;

/// <summary>Builds scorer inputs from already-tokenized text: tokens are the space-separated words, as pycocoevalcap's
/// scorers read their tokenized strings.</summary>
internal static class MetricInputs
{
    public static TokenizedCaption Caption(string candidate, params string[] references) =>
        new(Words(candidate), references.Select(Words).ToList());

    private static IReadOnlyList<string> Words(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

public class CaptionTokenizerCaptionMetricsTests
{
    [Theory]
    // Lower-cased; the final period split off and removed; the possessive clitic split off and kept.
    [InlineData("A man's dog, running in the park.", "a man 's dog running in the park")]
    // n't is a token of its own, the word before it keeps the rest; ! is removed.
    [InlineData("Don't stop!", "do n't stop")]
    // The plural possessive's apostrophe is removed; brackets become -lrb- / -rrb- and stay (the removal list only
    // has the upper-case escapes, and -lowerCase lower-cases them); the ellipsis is removed.
    [InlineData("The dogs' bowls (red) are on the floor...", "the dogs bowls -lrb- red -rrb- are on the floor")]
    // Quotes and dashes are removed; acronyms keep their periods; numbers keep inner commas, colons and periods.
    [InlineData("He said \"hello\" -- then left; U.S. flag at 10:30, 1,000 people, 3.5 meters.", "he said hello then left u.s. flag at 10:30 1,000 people 3.5 meters")]
    // Hyphenated words stay whole (CoreNLP 3.4.1 does not split hyphens); cannot is split in two.
    [InlineData("A black-and-white cat cannot sleep", "a black-and-white cat can not sleep")]
    // Curly quotes: the opening/closing ones are removed, the right one inside a word is an apostrophe.
    [InlineData("\u201cA cat\u2019s toy\u201d", "a cat 's toy")]
    [InlineData("Mr. Smith and Dr. Jones", "mr. smith and dr. jones")]
    [InlineData("  ?!. ", "")]
    [InlineData("", "")]
    public void Normalises_captions_as_pycocoevalcap_tokenizer_does(string caption, string expected) =>
        Assert.Equal(expected, string.Join(' ', CaptionTokenizer.Tokenize(caption)));
}

public class BleuCaptionMetricsTests
{
    [Fact]
    public void A_candidate_equal_to_its_reference_scores_one()
    {
        // c = r = 6; guesses = matches = [6, 5, 4, 3], so every precision is (m + 1e-15) / (m + 1e-9) = 1 − O(1e-10),
        // and the ratio (6 + 1e-15) / (6 + 1e-9) is a hair below 1: a penalty of exp(−1.7e-10). BLEU-1…4 = 1 to 1e-9.
        var result = BleuScore.Score([MetricInputs.Caption("a cat sits on the mat", "a cat sits on the mat")]);
        foreach (var score in result.Corpus) Assert.Equal(1.0, score, 1e-9);
        foreach (var score in result.PerCaption[0]) Assert.Equal(1.0, score, 1e-9);
    }

    [Fact]
    public void A_short_candidate_pays_the_brevity_penalty_and_orders_it_lacks_are_smoothed()
    {
        // "a cat" against "a cat sits on the mat": c = 2, r = 6, guesses [2, 1, 0, 0], matches [2, 1, 0, 0].
        // p1 = p2 = 1 (to 1e-9); p3 = p4 = (0 + 1e-15) / (0 + 1e-9) = 1e-6. Brevity penalty exp(1 − 6/2) = e^−2.
        // BLEU-1 = BLEU-2 = e^−2 = 0.1353352832; BLEU-3 = (1e-6)^(1/3) e^−2 = 1.353352832e-3;
        // BLEU-4 = (1e-12)^(1/4) e^−2 = 1.353352832e-4.
        var scores = BleuScore.Score([MetricInputs.Caption("a cat", "a cat sits on the mat")]).Corpus;
        Assert.Equal(0.1353352832, scores[0], 1e-9);
        Assert.Equal(0.1353352832, scores[1], 1e-9);
        Assert.Equal(1.353352832e-3, scores[2], 1e-11);
        Assert.Equal(1.353352832e-4, scores[3], 1e-12);
    }

    [Fact]
    public void Clips_counts_by_the_references_takes_the_closest_reference_length_and_smooths_a_missing_four_gram()
    {
        // Candidate "the dog the dog runs" (c = 5); references "the dog runs" (3) and "a brown dog runs in the park" (7).
        // Closest length: |5 − 3| = |5 − 7| = 2, a tie the reference breaks towards the shorter, so r = 3 and the ratio
        // 5/3 ≥ 1 has no penalty (with r = 7 there would be exp(1 − 7/5)).
        // Unigrams: the×2, dog×2, runs×1, each clipped to its most in one reference (1): matches 3 of 5.
        // Bigrams: "the dog"×2 (clipped to 1), "dog the" (0), "dog runs" (1): 2 of 4.
        // Trigrams: "the dog the", "dog the dog", "the dog runs" (1): 1 of 3. Four-grams: none of 2 match.
        // BLEU-1 = 3/5 = 0.6; BLEU-2 = √(0.6 · 0.5) = 0.5477225575; BLEU-3 = (0.6 · 0.5 · 1/3)^(1/3) = 0.1^(1/3)
        // = 0.4641588834; BLEU-4 = (0.1 · 1e-15 / 2)^(1/4) = (5e-17)^(1/4) = 8.408964153e-5, small but not 0.
        var scores = BleuScore.Score([MetricInputs.Caption("the dog the dog runs", "the dog runs", "a brown dog runs in the park")]).Corpus;
        Assert.Equal(0.6, scores[0], 1e-9);
        Assert.Equal(0.5477225575, scores[1], 1e-9);
        Assert.Equal(0.4641588834, scores[2], 1e-9);
        Assert.Equal(8.408964153e-5, scores[3], 1e-12);
    }

    [Fact]
    public void The_corpus_score_comes_from_summed_statistics_not_from_the_mean_of_per_caption_scores()
    {
        // Image A: candidate = reference, 6 words: c = r = 6, guesses = matches = [6, 5, 4, 3]; its BLEU is 1.
        // Image B: "a cat" vs the same reference: c = 2, r = 6, guesses = matches = [2, 1, 0, 0] (the previous test).
        // Totals: c = 8, r = 12, guesses = matches = [8, 6, 4, 3]: every precision 1, penalty exp(1 − 12/8) = e^−0.5, so
        // BLEU-1…4 = 0.6065306597, whereas the mean of the per-caption BLEU-4 would be (1 + 1.35e-4) / 2.
        var result = BleuScore.Score(
        [
            MetricInputs.Caption("a cat sits on the mat", "a cat sits on the mat"),
            MetricInputs.Caption("a cat", "a cat sits on the mat"),
        ]);
        foreach (var score in result.Corpus) Assert.Equal(0.6065306597, score, 1e-9);
        Assert.Equal(1.0, result.PerCaption[0][3], 1e-9);
        Assert.Equal(1.353352832e-4, result.PerCaption[1][3], 1e-12);
    }

    [Fact]
    public void Reproduces_the_published_COCO_demo_scores_from_its_printed_totals()
    {
        // tylin/coco-caption, cocoEvalCapDemo.ipynb (the fake-caption results on 1000 val2014 images) prints the BLEU
        // totals {'reflen': 9855, 'guess': [9893, 8893, 7893, 6893], 'testlen': 9893, 'correct': [5732, 2510, 1043, 423]}
        // and Bleu_1 0.579, Bleu_2 0.404, Bleu_3 0.279, Bleu_4 0.191 (ratio 1.0039: no brevity penalty).
        var totals = new BleuStatistics(9893, 9855, [9893, 8893, 7893, 6893], [5732, 2510, 1043, 423]);
        Assert.Equal([0.579, 0.404, 0.279, 0.191], totals.Scores().Select(score => Math.Round(score, 3)));
    }
}

public class CiderCaptionMetricsTests
{
    [Fact]
    public void Weighs_n_grams_by_their_document_frequency_over_the_references()
    {
        // Two images, so idf = ln 2 − ln df. References: image 1 "a red ball", image 2 "a blue ball".
        // df(a) = df(ball) = 2 → idf 0; red, blue and every bigram/trigram of the references have df 1 → idf ln 2;
        // n-grams no reference has ("cube", "blue cube", "a blue cube") count as df 1 → idf ln 2.
        // Image 1, candidate "a red ball" = its reference: orders 1–3 have cosine 1 (e.g. order 1: the only non-zero
        // weight is red's, ln 2, in both); order 4 has no n-grams, cosine 0. Both have 2 bigrams, δ = 0, penalty 1.
        // Score = 10 · (1 + 1 + 1 + 0) / 4 = 7.5.
        // Image 2, candidate "a blue cube": order 1 weights (a 0, blue ln 2, cube ln 2), norm √2 ln 2; reference (a 0,
        // blue ln 2, ball 0), norm ln 2: Σ min(c, r) r = ln²2 → 1/√2. Order 2: ("a blue", "blue cube") vs ("a blue",
        // "blue ball"), all ln 2: ln²2 / (√2 ln 2)² = 1/2. Order 3: no common trigram, 0. Order 4: 0. δ = 0.
        // Score = 10 · (1/√2 + 1/2) / 4 = 3.0177669530. Corpus = (7.5 + 3.0177669530) / 2 = 5.2588834765.
        var result = CiderScore.Score(
        [
            MetricInputs.Caption("a red ball", "a red ball"),
            MetricInputs.Caption("a blue cube", "a blue ball"),
        ]);
        Assert.Equal(7.5, result.PerCaption[0], 1e-9);
        Assert.Equal(3.0177669530, result.PerCaption[1], 1e-9);
        Assert.Equal(5.2588834765, result.Corpus, 1e-9);
    }

    [Fact]
    public void Clips_repeated_n_grams_applies_the_length_penalty_and_averages_over_references()
    {
        // Three images, idf = ln 3 − ln df. References: image 1 "a dog" and "the dog"; image 2 "a cat"; image 3 "the bird".
        // df(a) = 2 (images 1, 2), df(the) = 2 (images 1, 3) → idf ln 1.5 = 0.4054651081; dog, cat, bird and every
        // bigram have df 1 → idf ln 3 = 1.0986122887.
        // Image 1, candidate "dog dog dog": order 1 weight of dog 3 ln 3 (tf is the raw count), norm 3 ln 3.
        // Against "a dog" (a ln 1.5, dog ln 3; norm √(ln²1.5 + ln²3) = 1.1710469310): the clipped sum is
        // min(3 ln 3, ln 3) · ln 3 = ln²3, so the cosine is ln 3 / (3 · 1.1710469310) = 0.3127151325 (unclipped it would
        // be 3× that). Orders 2–4: "dog dog" and "dog dog dog" are in no reference, and the references have no
        // trigrams: 0. Length penalty: 2 bigrams vs 1, δ = 1, exp(−1 / (2 · 6²)) = 0.9862071167.
        // "the dog" gives the same. Score = 10 · (2 · 0.3127151325 · 0.9862071167 / 4) / 2 = 0.7710047230.
        // Images 2 and 3 equal their single reference: orders 1–2 cosine 1, orders 3–4 none: 10 · 2/4 = 5.
        // Corpus = (0.7710047230 + 5 + 5) / 3 = 3.5903349077.
        var result = CiderScore.Score(
        [
            MetricInputs.Caption("dog dog dog", "a dog", "the dog"),
            MetricInputs.Caption("a cat", "a cat"),
            MetricInputs.Caption("the bird", "the bird"),
        ]);
        Assert.Equal(0.7710047230, result.PerCaption[0], 1e-9);
        Assert.Equal(5.0, result.PerCaption[1], 1e-9);
        Assert.Equal(3.5903349077, result.Corpus, 1e-9);
    }

    [Fact]
    public void A_corpus_of_one_image_scores_zero_as_in_the_reference()
    {
        // With one image every idf is ln 1 − ln 1 = 0, so every weight and every similarity is 0.
        var result = CiderScore.Score([MetricInputs.Caption("a cat sits on the mat", "a cat sits on the mat")]);
        Assert.Equal(0.0, result.Corpus);
    }
}

public class ReferenceParityCaptionMetricsTests
{
    // Produced by running pycocoevalcap's own scorers (salaniz/pycocoevalcap at ad63453, bleu/bleu.py with
    // bleu_scorer.py and cider/cider.py with cider_scorer.py) under Python 3 on these already-tokenized captions. That
    // machine had no numpy, so cider_scorer's np.log / np.sqrt / np.e / np.mean were served by the math module —
    // the same scalar IEEE operations. The same comparison on 300 random corpora of 1–6 images agreed to 1e-15.
    private static readonly TokenizedCaption[] Images =
    [
        MetricInputs.Caption("a dog runs on the grass",
            "a brown dog running across the grass", "a dog runs through a field", "the dog is playing on the grass"),
        MetricInputs.Caption("a cat sitting on a red mat",
            "a cat sits on a mat", "a small cat lying on a red rug"),
        MetricInputs.Caption("two men riding horses on a beach",
            "two people ride horses along the beach", "men on horseback on a sandy beach", "two riders on horses by the sea",
            "horses with riders on the shore"),
    ];

    private static void AssertRelative(double expected, double actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Abs(expected), $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void Bleu_matches_pycocoevalcap_on_a_small_corpus()
    {
        var result = BleuScore.Score(Images);
        double[] corpus = [0.899999999955, 0.6507913734205578, 0.44939227016644007, 5.359459916880284e-05];
        double[][] perCaption =
        [
            [0.9999999996666668, 0.8944271906868665, 0.7368062994538218, 0.00010745699313892367],
            [0.8571428570204083, 0.6546536706066618, 0.4409111382334846, 6.803749331879301e-05],
            [0.8571428568979593, 0.377964472896738, 3.0571070863728495e-06, 9.19322714919025e-09],
        ];
        for (var k = 0; k < 4; k++) AssertRelative(corpus[k], result.Corpus[k]);
        for (var i = 0; i < 3; i++)
            for (var k = 0; k < 4; k++) AssertRelative(perCaption[i][k], result.PerCaption[i][k]);
    }

    [Fact]
    public void Cider_d_matches_pycocoevalcap_on_a_small_corpus()
    {
        var result = CiderScore.Score(Images);
        AssertRelative(1.8623671314416645, result.Corpus);
        AssertRelative(2.5288145983766026, result.PerCaption[0]);
        AssertRelative(2.0414965693639724, result.PerCaption[1]);
        AssertRelative(1.0167902265844184, result.PerCaption[2]);
    }
}

public class CaptionMetricsInputCaptionMetricsTests
{
    [Fact]
    public void Raw_captions_are_normalised_before_scoring()
    {
        // Case and the final period do not count once tokenized: the candidate equals its reference (BLEU-4 = 1), and
        // with a second, unrelated image both candidates equal their references: CIDEr-D orders 1–4 are all 1
        // (6 and 3 words; only "a" is shared, idf 0, the rest idf ln 2), so image 1 scores 10 and image 2 7.5.
        var scores = CaptionMetrics.Compute(
        [
            new GeneratedCaption("A cat sits on the mat.", ["a cat sits on the mat"]),
            new GeneratedCaption("A red ball!", ["a red ball"]),
        ]);
        Assert.Equal(1.0, scores.Bleu.Corpus[3], 1e-9);
        Assert.Equal(10.0, scores.CiderD.PerCaption[0], 1e-9);
        Assert.Equal(7.5, scores.CiderD.PerCaption[1], 1e-9);
    }

    [Fact]
    public void Refuses_an_empty_corpus_and_an_image_without_references()
    {
        var empty = Assert.Throws<DatasetException>(() => CaptionMetrics.Compute([]));
        Assert.Contains("no captions to score", empty.Message);
        var noReferences = Assert.Throws<DatasetException>(() => CiderScore.Score([MetricInputs.Caption("a cat"), MetricInputs.Caption("a dog", "a dog")]));
        Assert.Contains("image 0 has no reference captions", noReferences.Message);
        Assert.Throws<DatasetException>(() => BleuScore.Score([MetricInputs.Caption("a cat")]));
        // The reference crashes on references without a single n-gram; this says why instead.
        var emptyReferences = Assert.Throws<DatasetException>(() => CiderScore.Score([MetricInputs.Caption("a cat", ""), MetricInputs.Caption("a dog", "")]));
        Assert.Contains("every reference caption is empty", emptyReferences.Message);
    }
}

public class ClipScoreCaptionMetricsTests
{
    [Fact]
    public void Cosines_pair_each_image_with_its_own_caption_and_scale_as_Hessel_et_al()
    {
        // Row 1: (1, 0)·(1, 1) / √2 = 0.7071067812 → CLIP-S 2.5 · 0.7071 = 1.7677669530.
        // Row 2: (1, 0)·(−2, 0) / 2 = −1 → CLIP-S 2.5 · max(−1, 0) = 0.
        using var images = tensor(new float[] { 1, 0, 1, 0 }, [2, 2]);
        using var texts = tensor(new float[] { 1, 1, -2, 0 }, [2, 2]);
        var cosines = ClipScore.Cosines(images, texts);
        Assert.Equal(0.7071067812, cosines[0], 1e-6); // float32, as every cosine in Molyneux
        Assert.Equal(-1.0, cosines[1], 1e-6);
        Assert.Equal(1.7677669530, ClipScore.Scaled(0.7071067812), 1e-9);
        Assert.Equal(0.0, ClipScore.Scaled(cosines[1]));
    }

    [Fact]
    public void Encodes_image_files_and_captions_with_the_given_encoders()
    {
        // The fake image vector is the mean colour: red (1, 0, 0), green (0, 1, 0). "red" and "green" embed as those
        // colours, so "a red square" fits the red image (cosine 1) and "a red circle" does not fit the green one (0).
        using var folder = new TestPaths.TempFolder();
        var red = MeanColourImageEncoder.WritePng(folder.File("red.png"), 255, 0, 0);
        var green = MeanColourImageEncoder.WritePng(folder.File("green.png"), 0, 255, 0);
        var table = new Dictionary<string, float[]> { ["red"] = [1, 0, 0], ["green"] = [0, 1, 0] };
        var cosines = ClipScore.Cosines(new MeanColourImageEncoder(), new WordTableTextEncoder(table), [red, green], ["a red square", "a red circle"]);
        Assert.Equal(1.0, cosines[0], 1e-6);
        Assert.Equal(0.0, cosines[1], 1e-6);

        var mismatch = Assert.Throws<DatasetException>(() =>
            ClipScore.Cosines(new MeanColourImageEncoder(), new WordTableTextEncoder(table), [red, green], ["a red square"]));
        Assert.Contains("1 captions for 2 images", mismatch.Message);
    }

    [Fact]
    public void Scores_pixel_values_under_a_vision_language_model_and_refuses_another_size()
    {
        // The tiny golden CLIP: caption i is paired with image i, i.e. the diagonal of the image × caption cosines.
        using var clip = FineTuningFixture.LoadModelA();
        using var scope = NewDisposeScope();
        var pixelValues = clip.ImageProcessor.Normalize(FineTuningFixture.RandomImages(2));
        string[] captions = ["a photo of a cat", "a drawing of a dog"];
        var cosines = ClipScore.Cosines(clip, pixelValues, captions);
        var all = Cosine.Similarity(clip.EncodePixels(pixelValues), clip.EncodeTexts(captions));
        Assert.Equal(all[0, 0].item<float>(), cosines[0], 1e-6);
        Assert.Equal(all[1, 1].item<float>(), cosines[1], 1e-6);

        var wrongSize = Assert.Throws<ImageException>(() => ClipScore.Cosines(clip, zeros(2, 3, 8, 8), captions));
        Assert.Contains($"the model takes [N, 3, {clip.ImageSize}, {clip.ImageSize}]", wrongSize.Message);
    }
}
