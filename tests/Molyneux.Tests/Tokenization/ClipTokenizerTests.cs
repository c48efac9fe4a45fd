using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Molyneux.Tokenization;
using TorchSharp;

namespace Molyneux.Tests.Tokenization;

public sealed record TokenizerCase(
    int Id,
    string Text,
    string CleanedLowercased,
    string[] PreTokens,
    int[] BpeIds,
    [property: JsonPropertyName("clip_tokenize_77")] long[] ClipTokenize77,
    string Decoded);

/// <summary>The golden cases of clip/tokenizer/tokenizer_cases.json and the tokenizers under test, loaded once.</summary>
internal static class TokenizerGolden
{
    public static string Vocab => TestPaths.GoldenClip("tokenizer/vocab.json");
    public static string Merges => TestPaths.GoldenClip("tokenizer/merges.txt");
    public static string OpenAiBpe => TestPaths.GoldenClip("tokenizer/bpe_simple_vocab_16e6.txt.gz");

    private static readonly Lazy<IReadOnlyDictionary<int, TokenizerCase>> LazyCases = new(() =>
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(TestPaths.GoldenClip("tokenizer/tokenizer_cases.json")));
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        return document.RootElement.GetProperty("cases").Deserialize<TokenizerCase[]>(options)!.ToDictionary(c => c.Id);
    });

    private static readonly Lazy<ClipTokenizer> LazyHuggingFace = new(() => ClipTokenizer.FromHuggingFaceFiles(Vocab, Merges));
    private static readonly Lazy<ClipTokenizer> LazyOpenAi = new(() => ClipTokenizer.FromOpenAiBpe(OpenAiBpe));

    public static IReadOnlyDictionary<int, TokenizerCase> Cases => LazyCases.Value;
    public static ClipTokenizer HuggingFace => LazyHuggingFace.Value;
    public static ClipTokenizer OpenAi => LazyOpenAi.Value;
}

public sealed class ClipTokenizerTests
{
    public static TheoryData<int> CaseIds => new(TokenizerGolden.Cases.Keys.Order());

    public static TheoryData<string> Formats => new("huggingface", "openai");

    private static ClipTokenizer Tokenizer(string format) => format == "openai" ? TokenizerGolden.OpenAi : TokenizerGolden.HuggingFace;

    [Fact]
    public void Tokenizer_golden_file_has_98_cases()
    {
        Assert.Equal(98, TokenizerGolden.Cases.Count);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Tokenizer_from_huggingface_files_matches_golden_ids(int caseId) => AssertMatchesGolden(TokenizerGolden.HuggingFace, caseId);

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Tokenizer_from_openai_bpe_matches_golden_ids(int caseId) => AssertMatchesGolden(TokenizerGolden.OpenAi, caseId);

    private static void AssertMatchesGolden(ClipTokenizer tokenizer, int caseId)
    {
        var golden = TokenizerGolden.Cases[caseId];
        Assert.Equal(golden.BpeIds, tokenizer.Encode(golden.Text));
        Assert.Equal(golden.ClipTokenize77, tokenizer.Tokenize(golden.Text));
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Tokenizer_cleaning_and_split_match_golden(int caseId)
    {
        var golden = TokenizerGolden.Cases[caseId];
        Assert.Equal(golden.CleanedLowercased, ClipTextCleaner.Clean(golden.Text));
        Assert.Equal(golden.PreTokens, ClipTokenizer.CleanAndSplit(golden.Text));
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Tokenizer_decode_matches_golden(int caseId)
    {
        var golden = TokenizerGolden.Cases[caseId];
        Assert.Equal(golden.Decoded, TokenizerGolden.HuggingFace.Decode(golden.BpeIds));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Tokenizer_special_ids_and_vocabulary_size(string format)
    {
        var tokenizer = Tokenizer(format);
        Assert.Equal(49406, tokenizer.StartOfTextId);
        Assert.Equal(49407, tokenizer.EndOfTextId);
        Assert.Equal(49408, tokenizer.VocabularySize);
        Assert.Equal("<|startoftext|>a photo <|endoftext|>", tokenizer.Decode([49406, 320, 1125, 49407]));
    }

    [Fact]
    public void Tokenizer_batch_is_int64_rows_of_golden_ids()
    {
        var cases = TokenizerGolden.Cases.Values.OrderBy(c => c.Id).ToArray();
        using var batch = TokenizerGolden.HuggingFace.TokenizeBatch(cases.Select(c => c.Text).ToArray());
        Assert.Equal(torch.int64, batch.dtype);
        Assert.Equal(new long[] { cases.Length, 77 }, batch.shape);
        Assert.Equal(cases.SelectMany(c => c.ClipTokenize77).ToArray(), batch.data<long>().ToArray());
    }

    [Fact]
    public void Tokenizer_shorter_context_keeps_end_token_last()
    {
        var tokenizer = TokenizerGolden.HuggingFace;
        Assert.Equal([49406L, 320, 1125, 539, 49407], tokenizer.Tokenize("a photo of a cat", contextLength: 5));
        Assert.Equal([49406L, 320, 1125, 49407, 0, 0], tokenizer.Tokenize("a photo", contextLength: 6));
    }

    [Fact]
    public void Tokenizer_without_truncation_rejects_long_text_naming_counts()
    {
        var golden = TokenizerGolden.Cases[96];
        Assert.Equal(76, golden.BpeIds.Length);
        var error = Assert.Throws<TokenizerException>(() => TokenizerGolden.HuggingFace.Tokenize(golden.Text, truncate: false));
        Assert.Contains("78 tokens", error.Message);
        Assert.Contains("context length 77", error.Message);
        Assert.Throws<TokenizerException>(() => TokenizerGolden.HuggingFace.TokenizeBatch(["a cat", golden.Text], truncate: false));
    }

    [Fact]
    public void Tokenizer_without_truncation_accepts_text_that_exactly_fits()
    {
        var golden = TokenizerGolden.Cases[95];
        Assert.Equal(golden.ClipTokenize77, TokenizerGolden.HuggingFace.Tokenize(golden.Text, truncate: false));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Tokenizer_save_and_load_round_trip_gives_identical_ids(string format)
    {
        using var folder = new TestPaths.TempFolder();
        var original = Tokenizer(format);
        original.SaveHuggingFaceFiles(folder.Path);
        var loaded = ClipTokenizer.FromFolder(folder.Path);

        Assert.Equal(original.VocabularySize, loaded.VocabularySize);
        foreach (var golden in TokenizerGolden.Cases.Values)
            Assert.Equal(golden.ClipTokenize77, loaded.Tokenize(golden.Text));
        Assert.Equal(File.ReadAllLines(TokenizerGolden.Merges), File.ReadAllLines(folder.File("merges.txt")));
        Assert.Equal(ReadVocab(TokenizerGolden.Vocab), ReadVocab(folder.File("vocab.json")));
    }

    private static List<KeyValuePair<string, int>> ReadVocab(string path) =>
        JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(path))!.OrderBy(entry => entry.Value).ToList();

    [Fact]
    public void Tokenizer_encodes_concurrently_like_sequentially()
    {
        var tokenizer = ClipTokenizer.FromHuggingFaceFiles(TokenizerGolden.Vocab, TokenizerGolden.Merges);
        var cases = TokenizerGolden.Cases.Values.ToArray();
        var results = new int[cases.Length * 8][];
        Parallel.For(0, results.Length, i => results[i] = tokenizer.Encode(cases[i % cases.Length].Text));
        for (var i = 0; i < results.Length; i++)
            Assert.Equal(cases[i % cases.Length].BpeIds, results[i]);
    }

    // Expected values below were computed with Python's html.unescape, re, str.lower and the regex module, the
    // functions SimpleTokenizer calls; the golden file does not cover these corners.
    [Theory]
    [InlineData("&#65;&#x42;&#X43", "abc")]
    [InlineData("&#0;|&#128;|&#x9F;|&#xD800;|&#1114112;|&#99999999999999;|&#1;|&#xFFFE;|&#13;", "\uFFFD|\u20AC|\u00FF|\uFFFD|\uFFFD|\uFFFD|||")]
    [InlineData("&ampx &amp &notin; &noti &AMP;lt;", "&x & \u2209 \u00ACi <")]
    [InlineData("&#x;&#;&;&", "&#x;&#;&;&")]
    [InlineData("ΣΑΣ ΣΑΣ. ΑΣ'Α Σ", "σας σας. ασ'α σ")]
    [InlineData("a\u001C\u001Db\u2003\u3000c\u200Bd", "a b c\u200Bd")]
    [InlineData("Ǆ ǅ 𐐀", "ǆ ǆ 𐐨")]
    public void Tokenizer_cleaning_follows_python_semantics(string text, string expected)
    {
        Assert.Equal(expected, ClipTextCleaner.Clean(text));
    }

    [Fact]
    public void Tokenizer_split_follows_regex_module_quirks()
    {
        // Ignoring case, ſ matches the s of the literals; U+0345 matches no branch at all.
        Assert.Equal(["'ſ", "<|ſtartoftext|>", "a", "b"], ClipTokenizer.CleanAndSplit("'ſ <|ſtartoftext|> a\u0345b"));
        Assert.DoesNotContain(49406, TokenizerGolden.HuggingFace.Encode("<|ſtartoftext|>"));
        // Supplementary-plane letters and digits are classified as code points, not as surrogate halves.
        Assert.Equal(["𝐚𝐛", "𝟏", "𝟐"], ClipTokenizer.CleanAndSplit("𝐚𝐛𝟏𝟐"));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("中")]
    [InlineData("🐈")]
    public void Tokenizer_encodes_a_huge_word_quickly_as_consecutive_words(string letter)
    {
        var tokenizer = TokenizerGolden.HuggingFace;
        var perPart = ClipTokenizer.MaxWordBytes / System.Text.Encoding.UTF8.GetByteCount(letter);
        var part = string.Concat(Enumerable.Repeat(letter, perPart));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var ids = tokenizer.Encode(string.Concat(Enumerable.Repeat(part, 50)));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Equal(Enumerable.Repeat(tokenizer.Encode(part), 50).SelectMany(partIds => partIds), ids);
    }

    [Fact]
    public void Tokenizer_rejects_unpaired_surrogate()
    {
        Assert.Throws<TokenizerException>(() => TokenizerGolden.HuggingFace.Encode("a\uD800b"));
    }

    [Fact]
    public void Tokenizer_decode_rejects_unknown_id()
    {
        var error = Assert.Throws<TokenizerException>(() => TokenizerGolden.HuggingFace.Decode([320, 49408]));
        Assert.Contains("49408", error.Message);
    }

    [Fact]
    public void Tokenizer_missing_files_name_the_path()
    {
        using var folder = new TestPaths.TempFolder();
        var missing = folder.File("nope.json");
        Assert.Contains(missing, Assert.Throws<TokenizerException>(() => ClipTokenizer.FromHuggingFaceFiles(missing, TokenizerGolden.Merges)).Message);
        Assert.Contains(missing, Assert.Throws<TokenizerException>(() => ClipTokenizer.FromHuggingFaceFiles(TokenizerGolden.Vocab, missing)).Message);
        Assert.Contains(missing, Assert.Throws<TokenizerException>(() => ClipTokenizer.FromOpenAiBpe(missing)).Message);
    }

    [Fact]
    public void Tokenizer_folder_without_files_names_the_folder()
    {
        using var folder = new TestPaths.TempFolder();
        var absent = folder.File("absent");
        Assert.Contains(absent, Assert.Throws<TokenizerException>(() => ClipTokenizer.FromFolder(absent)).Message);
        File.Copy(TokenizerGolden.Vocab, folder.File("vocab.json"));
        var error = Assert.Throws<TokenizerException>(() => ClipTokenizer.FromFolder(folder.Path));
        Assert.Contains(folder.Path, error.Message);
        Assert.Contains("merges.txt", error.Message);
    }

    [Theory]
    [InlineData("#version: 0.2\ni n\nth\n", 3)]
    [InlineData("i n\nt  h\n", 2)]
    [InlineData("#version: 0.2\ni n\nzzzzqqq vvvvjjj\n", 3)]
    [InlineData("#version: 0.2\ni n\ni n\n", 3)]
    public void Tokenizer_bad_merges_line_names_file_and_line(string merges, int line)
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("merges.txt");
        File.WriteAllText(path, merges);
        var error = Assert.Throws<TokenizerException>(() => ClipTokenizer.FromHuggingFaceFiles(TokenizerGolden.Vocab, path));
        Assert.Contains($"{path}:{line}:", error.Message);
    }

    [Theory]
    [InlineData("[\"a\", 1]", "JSON object")]
    [InlineData("{\"a\": 1.5}", "\"a\"")]
    [InlineData("{\"a\": \"1\"}", "\"a\"")]
    [InlineData("{\"a\": 0, \"b\": 0}", "id 0")]
    [InlineData("{\"a\": 0, \"b\": 7}", "\"b\"")]
    [InlineData("{\"a\": 0,", "JSON")]
    [InlineData("{\"!\": 0}", "<|startoftext|>")]
    public void Tokenizer_bad_vocab_json_names_file(string json, string detail)
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("vocab.json");
        File.WriteAllText(path, json);
        var error = Assert.Throws<TokenizerException>(() => ClipTokenizer.FromHuggingFaceFiles(path, TokenizerGolden.Merges));
        Assert.Contains(path, error.Message);
        Assert.Contains(detail, error.Message);
    }

    [Fact]
    public void Tokenizer_vocab_without_byte_tokens_is_rejected()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("vocab.json");
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(TokenizerGolden.Vocab))!;
        vocab.Remove("a</w>");
        File.WriteAllText(path, JsonSerializer.Serialize(vocab.OrderBy(e => e.Value).Select((e, id) => KeyValuePair.Create(e.Key, id)).ToDictionary()));
        var error = Assert.Throws<TokenizerException>(() => ClipTokenizer.FromHuggingFaceFiles(path, TokenizerGolden.Merges));
        Assert.Contains(path, error.Message);
        Assert.Contains("a</w>", error.Message);
    }

    [Fact]
    public void Tokenizer_openai_file_that_is_not_gzip_names_the_file()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("bpe_simple_vocab_16e6.txt.gz");
        File.Copy(TokenizerGolden.Merges, path);
        var error = Assert.Throws<TokenizerException>(() => ClipTokenizer.FromOpenAiBpe(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("gzip", error.Message);
    }

    [Fact]
    public void Tokenizer_openai_file_with_too_few_merges_or_bad_line_names_the_file()
    {
        using var folder = new TestPaths.TempFolder();
        var path = folder.File("short.txt.gz");
        WriteGzip(path, "header\ni n\nt h\n");
        Assert.Contains(path, Assert.Throws<TokenizerException>(() => ClipTokenizer.FromOpenAiBpe(path)).Message);

        var lines = File.ReadAllLines(TokenizerGolden.Merges);
        lines[5] = "single";
        WriteGzip(path, string.Join("\n", lines) + "\n");
        Assert.Contains($"{path}:6:", Assert.Throws<TokenizerException>(() => ClipTokenizer.FromOpenAiBpe(path)).Message);
    }

    private static void WriteGzip(string path, string text)
    {
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        gzip.Write(System.Text.Encoding.UTF8.GetBytes(text));
    }
}
