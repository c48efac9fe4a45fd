using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using Molyneux.Runtime;
using Molyneux.Tokenization;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>BERT's WordPiece tokenizer from a vocab.txt (one token per line, the line number is the id), as Hugging
/// Face's BertTokenizer: basic tokenization (clean-up, splitting on whitespace and punctuation, CJK characters apart),
/// lower-casing and accent stripping for uncased models, then greedy longest-match WordPiece with "##"
/// continuations. Microsoft.ML.Tokenizers' BertTokenizer does the work; this class reads HF's
/// tokenizer_config.json, adds [CLS] … [SEP], truncates and pads batches.
///
/// One difference from HF remains: stripping accents needs Unicode decomposition, which .NET's invariant
/// globalization mode (Molyneux's setting) does not provide, so accented letters stay as they are ("café" is looked up
/// as "café", not "cafe", and may become [UNK]). English prompts and captions are unaffected.</summary>
public sealed class BertWordPieceTokenizer : ITextTowerTokenizer
{
    Tensor ITextTowerTokenizer.Tokenize(IReadOnlyList<string> texts, int contextLength)
    {
        var (ids, mask) = TokenizeBatch(texts, contextLength);
        mask.Dispose();
        return ids;
    }

    int ITextTowerTokenizer.CountTokens(string text) => Encode(text, int.MaxValue).Length;

    void ITextTowerTokenizer.SaveTo(string folder, int contextLength) => Save(folder, contextLength);

    public const string VocabFile = "vocab.txt";
    public const string ConfigFile = "tokenizer_config.json";

    private readonly BertTokenizer tokenizer;
    private readonly string[] vocabulary;

    private BertWordPieceTokenizer(string[] vocabulary, bool lowerCase, bool stripAccents, bool tokenizeChineseChars, string source)
    {
        this.vocabulary = vocabulary;
        (LowerCase, StripAccents, TokenizeChineseChars) = (lowerCase, stripAccents, tokenizeChineseChars);
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", vocabulary) + "\n"));
        try
        {
            tokenizer = BertTokenizer.Create(stream, new BertOptions
            {
                LowerCaseBeforeTokenization = lowerCase,
                RemoveNonSpacingMarks = stripAccents,
                IndividuallyTokenizeCjk = tokenizeChineseChars,
                ApplyBasicTokenization = true,
            });
        }
        catch (ArgumentException e)
        {
            throw new TokenizerException($"{source}: not a WordPiece vocabulary ({e.Message}; it needs [CLS], [SEP], [PAD], [UNK] and [MASK])", e);
        }
    }

    public bool LowerCase { get; }

    public bool StripAccents { get; }

    public bool TokenizeChineseChars { get; }

    public int VocabularySize => vocabulary.Length;

    public int PadId => tokenizer.PaddingTokenId;

    /// <summary>A tokenizer over these tokens (line order = ids); HF's uncased defaults unless told otherwise.</summary>
    public static BertWordPieceTokenizer FromTokens(IReadOnlyList<string> tokens, bool lowerCase = true, bool? stripAccents = null, bool tokenizeChineseChars = true) =>
        new([.. tokens], lowerCase, stripAccents ?? lowerCase, tokenizeChineseChars, "vocabulary");

    /// <summary>Reads vocab.txt and, when present, tokenizer_config.json (<c>do_lower_case</c>, default true;
    /// <c>strip_accents</c>, default: as lower-casing; <c>tokenize_chinese_chars</c>, default true).</summary>
    public static BertWordPieceTokenizer FromFolder(string folder)
    {
        var vocabPath = Path.Combine(folder, VocabFile);
        if (!File.Exists(vocabPath)) throw new TokenizerException($"{folder}: no {VocabFile} (a BERT WordPiece vocabulary) in this folder");
        var lines = File.ReadAllLines(vocabPath);
        // A trailing newline gives no extra token; an empty line in the middle is a token (as HF reads it).
        var tokens = lines.Length > 0 && lines[^1].Length == 0 ? lines[..^1] : lines;
        var configPath = Path.Combine(folder, ConfigFile);
        var config = File.Exists(configPath) ? HfConfigFile.ReadObject(configPath) : [];
        bool? Flag(string name) => config[name] is JsonValue value && value.TryGetValue<bool>(out var flag) ? flag : null;
        var lowerCase = Flag("do_lower_case") ?? true;
        RequireOnlyVocabularyTokens(tokens, folder);
        return new BertWordPieceTokenizer(tokens, lowerCase, Flag("strip_accents") ?? lowerCase, Flag("tokenize_chinese_chars") ?? true, vocabPath);
    }

    /// <summary>The special tokens of BERT's WordPiece, by their role in transformers' <c>BertTokenizer</c>.</summary>
    private static readonly (string Role, string Token)[] SpecialTokens =
        [("cls_token", "[CLS]"), ("mask_token", "[MASK]"), ("pad_token", "[PAD]"), ("sep_token", "[SEP]"), ("unk_token", "[UNK]")];

    /// <summary>An added token that is not vocab.txt's own entry at its id would be a word transformers splits off
    /// and Molyneux's WordPiece never produces: such a folder is refused rather than read with different ids.</summary>
    private static void RequireOnlyVocabularyTokens(string[] tokens, string folder)
    {
        var (declared, source) = HuggingFaceTokenizerFiles.ReadAddedTokens(folder);
        foreach (var token in declared)
        {
            if (token.Id < tokens.Length && tokens[token.Id] == token.Content) continue;
            var there = token.Id < tokens.Length ? $"{VocabFile} has \"{tokens[token.Id]}\" there" : $"{VocabFile} has {tokens.Length} tokens";
            throw new TokenizerException($"{source}: added token \"{token.Content}\" has id {token.Id}, but {there}; Molyneux's WordPiece " +
                                         "tokenizer reads only the vocabulary's own tokens");
        }
    }

    /// <summary>Writes vocab.txt, and tokenizer_config.json with special_tokens_map.json as transformers'
    /// <c>BertTokenizer</c> reads them: the lower-casing settings, <c>model_max_length</c> =
    /// <paramref name="modelMaxLength"/> (the length texts are cut to) and [CLS] [SEP] [PAD] [UNK] [MASK] with their
    /// ids.</summary>
    public void Save(string folder, int modelMaxLength = 512)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(modelMaxLength, 2);
        AtomicFile.WriteAllText(Path.Combine(folder, VocabFile), string.Join("\n", vocabulary) + "\n");
        var settings = new Dictionary<string, JsonNode?>
        {
            ["clean_up_tokenization_spaces"] = true,
            ["do_basic_tokenize"] = true,
            ["do_lower_case"] = LowerCase,
            ["model_max_length"] = modelMaxLength,
            ["never_split"] = null,
            ["strip_accents"] = StripAccents,
            ["tokenize_chinese_chars"] = TokenizeChineseChars,
            ["tokenizer_class"] = "BertTokenizer",
        };
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < vocabulary.Length; id++) ids.TryAdd(vocabulary[id], id);
        // The constructor made sure all five are in the vocabulary (Microsoft's BertTokenizer requires them).
        var added = SpecialTokens.Where(special => ids.ContainsKey(special.Token))
            .Select(special => new HuggingFaceAddedToken(ids[special.Token], special.Token, Special: true, Normalized: false)).ToList();
        HuggingFaceTokenizerFiles.Write(folder, settings, SpecialTokens.ToDictionary(special => special.Role, special => special.Token), added);
    }

    /// <summary>[CLS] + WordPiece ids + [SEP], the middle cut so that the whole is at most <paramref name="maxLength"/> long.</summary>
    public int[] Encode(string text, int maxLength)
    {
        // HF's clean-up turns tabs and line breaks into spaces; Microsoft's drops them as control characters, which
        // would glue the words on either side together.
        var pieces = tokenizer.EncodeToIds(text.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' '), addSpecialTokens: false);
        return [tokenizer.ClassificationTokenId, .. pieces.Take(Math.Max(0, maxLength - 2)), tokenizer.SeparatorTokenId];
    }

    /// <summary>int64 ids [N, L] padded with [PAD] to the longest text of the batch, and the bool mask [N, L] of real tokens.</summary>
    public (Tensor Ids, Tensor Mask) TokenizeBatch(IReadOnlyList<string> texts, int maxLength)
    {
        var encoded = texts.Select(text => Encode(text, maxLength)).ToList();
        var length = encoded.Count == 0 ? 0 : encoded.Max(ids => ids.Length);
        var ids = new long[encoded.Count * length];
        var mask = new bool[encoded.Count * length];
        for (var row = 0; row < encoded.Count; row++)
            for (var column = 0; column < length; column++)
            {
                var real = column < encoded[row].Length;
                ids[row * length + column] = real ? encoded[row][column] : PadId;
                mask[row * length + column] = real;
            }
        return (tensor(ids, [encoded.Count, length]), tensor(mask, [encoded.Count, length]));
    }
}
