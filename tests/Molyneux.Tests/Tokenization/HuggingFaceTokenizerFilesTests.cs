using System.Text.Json;
using System.Text.Json.Nodes;
using Molyneux.Asif;
using Molyneux.Tokenization;

namespace Molyneux.Tests.Tokenization;

/// <summary>The tokenizer files Molyneux writes for transformers (tokenizer_config.json, special_tokens_map.json,
/// added_tokens.json), checked against the field names and JSON types transformers documents and reads
/// (PreTrainedTokenizerBase._from_pretrained turns each added_tokens_decoder entry into AddedToken(**entry); CLIPTokenizer
/// and BertTokenizer take the special tokens by role), and read back by Molyneux to the same ids. transformers itself
/// cannot be installed here, so the ids Python would give are worked out by hand from the golden vocab.json.</summary>
public sealed class HuggingFaceTokenizerFilesTests
{
    // From the golden vocab.json (openai/clip-vit-base-patch32's): "a</w>" 320, ".</w>" 269, "hot</w>" 2069,
    // "dog</w>" 1929, "s</w>" 338; start and end of text 49406 and 49407; 49408 entries in all.
    private const int StartOfText = 49406, EndOfText = 49407, A = 320, Period = 269, Hot = 2069, Dog = 1929;

    /// <summary>The parameters of transformers' AddedToken, which every added_tokens_decoder entry must carry (and no
    /// other, or AddedToken(**entry) fails).</summary>
    private static readonly string[] AddedTokenFields = ["content", "lstrip", "normalized", "rstrip", "single_word", "special"];

    private static readonly Lazy<ClipTokenizer> Taught = new(() => TokenizerGolden.HuggingFace.WithAddedWord("Moongate").WithAddedWord("hot dog").WithAddedWord("R2D2"));

    private static JsonObject ReadObject(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    private static void AssertIsAddedTokenEntry(JsonNode? entry, string content, bool special, bool normalized)
    {
        var token = Assert.IsType<JsonObject>(entry);
        Assert.Equal(AddedTokenFields, token.Select(field => field.Key).Order(StringComparer.Ordinal));
        Assert.Equal(content, token["content"]!.GetValue<string>());
        foreach (var flag in AddedTokenFields.Skip(1))
            Assert.True(token[flag]!.GetValueKind() is JsonValueKind.True or JsonValueKind.False, $"{flag} is not true or false");
        Assert.Equal(special, token["special"]!.GetValue<bool>());
        Assert.Equal(normalized, token["normalized"]!.GetValue<bool>());
        Assert.False(token["lstrip"]!.GetValue<bool>());
        Assert.False(token["rstrip"]!.GetValue<bool>());
        Assert.False(token["single_word"]!.GetValue<bool>());
    }

    [Fact]
    public void Clip_tokenizer_config_has_CLIPTokenizer_fields_with_their_types_and_the_context_as_model_max_length()
    {
        using var folder = new TestPaths.TempFolder();
        TokenizerGolden.HuggingFace.SaveHuggingFaceFiles(folder.Path, contextLength: 77);

        var config = ReadObject(folder.File("tokenizer_config.json"));
        Assert.Equal("CLIPTokenizer", config["tokenizer_class"]!.GetValue<string>());
        Assert.Equal(77, config["model_max_length"]!.GetValue<int>());
        Assert.Equal("<|startoftext|>", config["bos_token"]!.GetValue<string>());
        foreach (var role in new[] { "eos_token", "pad_token", "unk_token" })
            Assert.Equal("<|endoftext|>", config[role]!.GetValue<string>());
        Assert.True(config["do_lower_case"]!.GetValue<bool>());
        Assert.False(config["add_prefix_space"]!.GetValue<bool>());
        Assert.Equal("replace", config["errors"]!.GetValue<string>());
        // transformers writes its keys sorted; so does Molyneux.
        Assert.Equal(config.Select(field => field.Key).Order(StringComparer.Ordinal), config.Select(field => field.Key));

        var decoder = config["added_tokens_decoder"]!.AsObject();
        Assert.Equal(["49406", "49407"], decoder.Select(entry => entry.Key));
        AssertIsAddedTokenEntry(decoder["49406"], "<|startoftext|>", special: true, normalized: true);
        AssertIsAddedTokenEntry(decoder["49407"], "<|endoftext|>", special: true, normalized: true);

        var map = ReadObject(folder.File("special_tokens_map.json"));
        Assert.Equal(["bos_token", "eos_token", "pad_token", "unk_token"], map.Select(entry => entry.Key));
        Assert.All(map, entry => Assert.Equal(JsonValueKind.String, entry.Value!.GetValueKind()));
        Assert.False(File.Exists(folder.File("added_tokens.json")));  // nothing added, nothing to declare

        // A smaller context (a model with 16 positions) is what Python must truncate at.
        TokenizerGolden.HuggingFace.SaveHuggingFaceFiles(folder.Path, contextLength: 16);
        Assert.Equal(16, ReadObject(folder.File("tokenizer_config.json"))["model_max_length"]!.GetValue<int>());
    }

    [Fact]
    public void Taught_words_are_declared_as_added_tokens_with_their_ids_and_typed_text_and_left_out_of_vocab_json()
    {
        using var folder = new TestPaths.TempFolder();
        Taught.Value.SaveHuggingFaceFiles(folder.Path);

        var decoder = ReadObject(folder.File("tokenizer_config.json"))["added_tokens_decoder"]!.AsObject();
        Assert.Equal(["49406", "49407", "49408", "49409", "49410"], decoder.Select(entry => entry.Key));
        // What a Python user types: lower case (CLIP lower-cases, so normalized: true lets the fast tokenizer match
        // "Moongate" too), a space between the words of a phrase, none inside "r2d2".
        AssertIsAddedTokenEntry(decoder["49408"], "moongate", special: false, normalized: true);
        AssertIsAddedTokenEntry(decoder["49409"], "hot dog", special: false, normalized: true);
        AssertIsAddedTokenEntry(decoder["49410"], "r2d2", special: false, normalized: true);

        // transformers' fast tokenizer numbers added tokens on from the size of vocab.json: it must end at 49407.
        var vocab = ReadObject(folder.File("vocab.json"));
        Assert.Equal(49408, vocab.Count);
        Assert.Equal(EndOfText, vocab.Max(entry => entry.Value!.GetValue<int>()));
        Assert.DoesNotContain(vocab, entry => entry.Key.Contains("moongate", StringComparison.Ordinal));

        var legacy = ReadObject(folder.File("added_tokens.json"));
        Assert.Equal(["moongate", "hot dog", "r2d2"], legacy.Select(entry => entry.Key));
        Assert.Equal([49408, 49409, 49410], legacy.Select(entry => entry.Value!.GetValue<int>()));
        Assert.Equal([(49408, "moongate"), (49409, "hot dog"), (49410, "r2d2")], Taught.Value.AddedWords);
    }

    [Fact]
    public void A_reloaded_folder_gives_the_ids_transformers_gives_with_added_tokens_split_off_before_bpe()
    {
        using var folder = new TestPaths.TempFolder();
        Taught.Value.SaveHuggingFaceFiles(folder.Path);
        var reloaded = ClipTokenizer.FromFolder(folder.Path);

        Assert.Equal(Taught.Value.VocabularySize, reloaded.VocabularySize);
        Assert.Equal(Taught.Value.AddedWords, reloaded.AddedWords);
        // CLIPTokenizerFast lower-cases, splits the text at the added tokens, and runs BPE on the rest:
        // "a moongate." → "a " | moongate | "." → a</w> 320, 49408, .</w> 269, between start and end of text.
        Assert.Equal([StartOfText, A, 49408, Period, EndOfText], reloaded.Tokenize("A Moongate.", contextLength: 5));
        Assert.Equal([StartOfText, A, 49409, EndOfText, 0], reloaded.Tokenize("a hot dog", contextLength: 5));
        Assert.Equal([StartOfText, 49410, EndOfText], reloaded.Tokenize("r2d2", contextLength: 3));
        // Without the taught words, the same text is BPE as before.
        Assert.Equal([StartOfText, A, Hot, Dog, EndOfText], TokenizerGolden.HuggingFace.Tokenize("a hot dog", contextLength: 5));
    }

    [Fact]
    public void Added_tokens_json_alone_and_the_earlier_vocab_json_entry_both_read_back_to_the_same_ids()
    {
        using var folder = new TestPaths.TempFolder();
        Taught.Value.SaveHuggingFaceFiles(folder.Path);
        // transformers before 4.34 read only added_tokens.json.
        File.Delete(folder.File("tokenizer_config.json"));
        Assert.Equal([49408], ClipTokenizer.FromFolder(folder.Path).Encode("moongate"));

        // Molyneux's earlier layout: the word as a vocab.json entry no merge produces, and no added tokens.
        using var earlier = new TestPaths.TempFolder();
        File.Copy(TokenizerGolden.Merges, earlier.File("merges.txt"));
        var vocab = ReadObject(TokenizerGolden.Vocab);
        vocab["moongate</w>"] = 49408;
        File.WriteAllText(earlier.File("vocab.json"), vocab.ToJsonString());
        var tokenizer = ClipTokenizer.FromFolder(earlier.Path);
        Assert.Equal([49408], tokenizer.Encode("moongate"));
        Assert.Equal([(49408, "moongate")], tokenizer.AddedWords);
        // The same folder with the word also declared (both at once) is read the same way.
        tokenizer.SaveHuggingFaceFiles(folder.Path);
        File.Copy(folder.File("tokenizer_config.json"), earlier.File("tokenizer_config.json"));
        Assert.Equal([49408], ClipTokenizer.FromFolder(earlier.Path).Encode("moongate"));
    }

    [Theory]
    [InlineData("""{"49409": {"content": "moongate", "special": false}}""", "has id 49409, but the next id after the vocabulary is 49408")]
    [InlineData("""{"49408": {"content": "<mask>", "special": true}}""", "is special; a CLIP tokenizer has only")]
    [InlineData("""{"320": {"content": "moongate", "special": false}}""", "has id 320, which vocab.json gives to \"a</w>\"")]
    [InlineData("""{"49408": {"content": "cat", "special": false}}""", "\"cat\" is already the single token")]
    [InlineData("""{"49408": {"special": false}}""", "added_tokens_decoder[\"49408\"] has no \"content\" text")]
    [InlineData("""{"49408": {"content": "moongate", "special": "no"}}""", "added_tokens_decoder[\"49408\"].special is \"no\", expected true or false")]
    [InlineData("""{"x": {"content": "moongate"}}""", "key \"x\" is not a token id")]
    [InlineData("""[]""", "added_tokens_decoder is Array")]
    public void Declared_added_tokens_that_Molyneux_cannot_give_the_same_ids_are_refused_naming_the_file(string decoder, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        TokenizerGolden.HuggingFace.SaveHuggingFaceFiles(folder.Path);
        File.WriteAllText(folder.File("tokenizer_config.json"), $$"""{"tokenizer_class": "CLIPTokenizer", "added_tokens_decoder": {{decoder}}}""");

        var error = Assert.Throws<TokenizerException>(() => ClipTokenizer.FromFolder(folder.Path));
        Assert.Contains(folder.File("tokenizer_config.json"), error.Message);
        Assert.Contains(expected, error.Message);
    }

    private static readonly string[] WordPieceVocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "heart", "##s"];

    [Fact]
    public void Bert_tokenizer_config_has_BertTokenizer_fields_and_the_special_tokens_at_their_vocabulary_ids()
    {
        using var folder = new TestPaths.TempFolder();
        BertWordPieceTokenizer.FromTokens(WordPieceVocabulary).Save(folder.Path, modelMaxLength: 77);

        var config = ReadObject(folder.File("tokenizer_config.json"));
        Assert.Equal("BertTokenizer", config["tokenizer_class"]!.GetValue<string>());
        Assert.Equal(77, config["model_max_length"]!.GetValue<int>());
        Assert.True(config["do_lower_case"]!.GetValue<bool>());
        Assert.True(config["tokenize_chinese_chars"]!.GetValue<bool>());
        var roles = new Dictionary<string, string>
        {
            ["cls_token"] = "[CLS]", ["mask_token"] = "[MASK]", ["pad_token"] = "[PAD]", ["sep_token"] = "[SEP]", ["unk_token"] = "[UNK]",
        };
        foreach (var (role, token) in roles)
            Assert.Equal(token, config[role]!.GetValue<string>());
        var decoder = config["added_tokens_decoder"]!.AsObject();
        Assert.Equal(["0", "1", "2", "3", "4"], decoder.Select(entry => entry.Key));
        foreach (var (id, token) in new[] { (0, "[PAD]"), (1, "[UNK]"), (2, "[CLS]"), (3, "[SEP]"), (4, "[MASK]") })
            AssertIsAddedTokenEntry(decoder[id.ToString()], token, special: true, normalized: false);
        var map = ReadObject(folder.File("special_tokens_map.json"));
        Assert.Equal(roles.OrderBy(entry => entry.Key, StringComparer.Ordinal).Select(entry => entry.Key), map.Select(entry => entry.Key));

        var reloaded = BertWordPieceTokenizer.FromFolder(folder.Path);
        Assert.Equal([2, 5, 6, 7, 8, 3], reloaded.Encode("a red hearts", maxLength: 77));
        Assert.Equal(WordPieceVocabulary.Length, reloaded.VocabularySize);
    }

    [Fact]
    public void A_bert_folder_declaring_a_token_outside_its_vocabulary_is_refused()
    {
        using var folder = new TestPaths.TempFolder();
        BertWordPieceTokenizer.FromTokens(WordPieceVocabulary).Save(folder.Path);
        File.WriteAllText(folder.File("tokenizer_config.json"),
            """{"do_lower_case": true, "added_tokens_decoder": {"9": {"content": "<moongate>", "special": false}}}""");

        var error = Assert.Throws<TokenizerException>(() => BertWordPieceTokenizer.FromFolder(folder.Path));
        Assert.Contains("added token \"<moongate>\" has id 9, but vocab.txt has 9 tokens", error.Message);
    }
}
