using Molyneux.Tokenization;

namespace Molyneux.Tests.Tokenization;

public sealed class BpeTrainerTests
{
    /// <summary>Captions in the style of the shapes world and the emoji set, with made-up words for a long tail.</summary>
    private static string[] Captions(int count, int seed)
    {
        var random = new Random(seed);
        string[] sizes = ["tiny", "small", "large", "huge"];
        string[] colors = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white"];
        string[] shapes = ["circle", "square", "triangle", "star", "hexagon", "ellipse", "diamond", "heart"];
        string[] relations = ["above", "below", "left of", "right of", "inside", "next to"];
        string[] emoji = ["grinning face", "face with tears of joy", "thumbs up", "red heart", "party popper", "cat face", "rocket"];
        string[] syllables = ["ka", "lo", "mi", "ren", "sto", "zel", "tor", "vin", "sha", "dro", "pel", "gri"];
        string Pick(string[] words) => words[random.Next(words.Length)];
        string MadeUp() => string.Concat(Enumerable.Range(0, random.Next(2, 4)).Select(_ => Pick(syllables)));
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(3) switch
        {
            0 => $"A {Pick(sizes)} {Pick(colors)} {Pick(shapes)} {Pick(relations)} a {Pick(colors)} {Pick(shapes)}.",
            1 => $"the {Pick(emoji)} emoji on a {Pick(colors)} background, rotated {random.Next(360)} degrees",
            _ => $"{MadeUp()} draws a {Pick(shapes)} for the {MadeUp()}",
        })];
    }

    private static readonly Lazy<string[]> LazyCorpus = new(() => Captions(3000, seed: 1));
    private static readonly Lazy<ClipTokenizer> LazyTrained = new(() => BpeTrainer.Train(LazyCorpus.Value, 800));

    // Sennrich et al.'s example, small enough to follow by hand: low ×5, lower ×2, newest ×6, widest ×3.
    private static readonly string[] Sennrich = [.. Enumerable.Repeat("low", 5), .. Enumerable.Repeat("lower", 2),
        .. Enumerable.Repeat("newest", 6), .. Enumerable.Repeat("widest", 3)];

    [Fact]
    public void Bpe_first_merges_are_the_most_frequent_pairs_with_ordinal_ties()
    {
        // Counts before each merge: e s 9 (ties s t</w> 9, and "e" < "s"), es t</w> 9, l o 7, e w 6 (ties n e, w est</w>),
        // ew est</w> 6 (ties n ew), n ewest</w> 6, lo w</w> 5, then widest's pairs at 3 and lower's at 2.
        (string, string)[] expected =
        [
            ("e", "s"), ("es", "t</w>"), ("l", "o"), ("e", "w"), ("ew", "est</w>"), ("n", "ewest</w>"), ("lo", "w</w>"),
            ("d", "est</w>"), ("i", "dest</w>"), ("w", "idest</w>"), ("e", "r</w>"), ("lo", "w"), ("low", "er</w>"),
        ];
        Assert.Equal(expected, BpeTrainer.LearnMerges(Sennrich, maxMerges: 100, minFrequency: 2));
        // Every word is one token after those merges, so no pair is left to count.
        Assert.Equal(BpeTrainer.MinimumVocabularySize + expected.Length, BpeTrainer.Train(Sennrich, 1000).VocabularySize);
        Assert.Equal(expected[..10], BpeTrainer.LearnMerges(Sennrich, maxMerges: 100, minFrequency: 3));
        Assert.Equal(expected[..4], BpeTrainer.LearnMerges(Sennrich, maxMerges: 4, minFrequency: 2));
    }

    [Fact]
    public void Bpe_training_counts_clip_cleaned_words_and_skips_special_tokens()
    {
        // Only lower-casing makes "CAT" and "Cat" count as "cat"; the twice-seen "<|endoftext|>" would otherwise give the
        // first merge, "<" "|".
        string[] texts = ["A CAT <|endoftext|>", "a Cat", "the cat<|startoftext|>", "<|endoftext|>"];
        (string, string)[] expected = [("a", "t</w>"), ("c", "at</w>")];
        Assert.Equal(expected, BpeTrainer.LearnMerges(texts, maxMerges: 100, minFrequency: 2));
    }

    [Fact]
    public void Bpe_training_is_deterministic_and_independent_of_text_order()
    {
        var corpus = LazyCorpus.Value;
        var merges = BpeTrainer.LearnMerges(corpus, maxMerges: 500, minFrequency: 2);
        Assert.Equal(500, merges.Count);
        Assert.Equal(merges, BpeTrainer.LearnMerges(corpus, maxMerges: 500, minFrequency: 2));
        Assert.Equal(merges, BpeTrainer.LearnMerges(corpus.Reverse(), maxMerges: 500, minFrequency: 2));
    }

    [Fact]
    public void Bpe_vocabulary_has_the_requested_size_with_special_ids_last()
    {
        var tokenizer = LazyTrained.Value;
        Assert.Equal(800, tokenizer.VocabularySize);
        Assert.Equal(798, tokenizer.StartOfTextId);
        Assert.Equal(799, tokenizer.EndOfTextId);
        Assert.Equal("<|startoftext|><|endoftext|>", tokenizer.Decode([798, 799]));
        // CLIP pools the text features at the argmax id, which must be the end token.
        var row = tokenizer.Tokenize(LazyCorpus.Value[0]);
        Assert.Equal(Array.IndexOf(row, 799L), Array.IndexOf(row, row.Max()));
    }

    [Fact]
    public void Bpe_vocabulary_without_merges_is_clip_byte_layout()
    {
        var tokenizer = BpeTrainer.Train(LazyCorpus.Value, BpeTrainer.MinimumVocabularySize);
        Assert.Equal(514, tokenizer.VocabularySize);
        Assert.Equal(513, tokenizer.EndOfTextId);
        // The byte ids of OpenAI's vocabulary: "c" 66, "a" 64, "t</w>" 256 + 83.
        Assert.Equal([66, 64, 339], tokenizer.Encode("cat"));
    }

    [Fact]
    public void Bpe_frequent_words_become_single_tokens()
    {
        var tokenizer = LazyTrained.Value;
        foreach (var word in (string[])["circle", "triangle", "hexagon", "emoji", "background", "degrees", "a", "the"])
        {
            var ids = tokenizer.Encode(word);
            Assert.Single(ids);
            Assert.Equal(word + " ", tokenizer.Decode(ids));
        }
    }

    private static readonly string[] AnyTexts =
    [
        "an unseen zxqvbnm word",
        "🦄🌈 unicorn over a rainbow 👨‍👩‍👧 👍🏽",
        "猫が好きです",
        "Привет, мир! Ελληνικά مرحبا",
        "Naïve café &amp; crème brûlée",
        "𝐚𝐛𝟏𝟐 Ǆ İstanbul ΣΑΣ",
        "tabs\tand\nnew lines   and 1234567890",
        "!!! ??? ... ---",
        "it's they're we'll",
        "",
    ];

    public static TheoryData<string> AnyText => new(AnyTexts);

    [Theory]
    [MemberData(nameof(AnyText))]
    public void Bpe_vocabulary_encodes_any_text_and_decodes_to_the_cleaned_words(string text)
    {
        var tokenizer = LazyTrained.Value;
        var ids = tokenizer.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.StartOfTextId - 1));
        // Decoding ends each word with a space where the cleaned text had a space or a pre-token boundary.
        Assert.Equal(string.Concat(ClipTokenizer.CleanAndSplit(text).Select(word => word + " ")), tokenizer.Decode(ids));
    }

    [Fact]
    public void Bpe_vocabulary_save_and_load_round_trip_gives_identical_ids()
    {
        using var folder = new TestPaths.TempFolder();
        var trained = LazyTrained.Value;
        trained.SaveHuggingFaceFiles(folder.Path);
        var loaded = ClipTokenizer.FromFolder(folder.Path);

        Assert.Equal(trained.VocabularySize, loaded.VocabularySize);
        Assert.Equal(trained.EndOfTextId, loaded.EndOfTextId);
        foreach (var text in Captions(200, seed: 2).Concat(AnyTexts))
            Assert.Equal(trained.Tokenize(text), loaded.Tokenize(text));
        var merges = File.ReadAllLines(folder.File("merges.txt"));
        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal(trained.VocabularySize - BpeTrainer.MinimumVocabularySize, merges.Length - 1);
    }

    [Fact]
    public void Bpe_layout_from_openai_merges_gives_openai_ids()
    {
        var merges = File.ReadAllLines(TokenizerGolden.Merges).Skip(1).Select(line => line.Split(' ')).Select(parts => (parts[0], parts[1])).ToArray();
        var tokenizer = ClipTokenizer.FromMerges(merges);
        Assert.Equal(49408, tokenizer.VocabularySize);
        foreach (var golden in TokenizerGolden.Cases.Values)
            Assert.Equal(golden.ClipTokenize77, tokenizer.Tokenize(golden.Text));
    }

    [Fact]
    public void Bpe_layout_rejects_repeated_or_unknown_merges_naming_the_position()
    {
        Assert.Contains("merge list:2:", Assert.Throws<TokenizerException>(() => ClipTokenizer.FromMerges([("c", "a"), ("c", "a")])).Message);
        Assert.Contains("merge list:1:", Assert.Throws<TokenizerException>(() => ClipTokenizer.FromMerges([("ca", "t</w>")])).Message);
    }

    [Fact]
    public void Bpe_training_rejects_a_vocabulary_smaller_than_the_bytes_or_a_frequency_below_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(["a cat"], BpeTrainer.MinimumVocabularySize - 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(["a cat"], 1000, minFrequency: 0));
    }
}
