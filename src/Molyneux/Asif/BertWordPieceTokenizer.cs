using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using Molyneux.Runtime;
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
public sealed class BertWordPieceTokenizer
{
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
        return new BertWordPieceTokenizer(tokens, lowerCase, Flag("strip_accents") ?? lowerCase, Flag("tokenize_chinese_chars") ?? true, vocabPath);
    }

    public void Save(string folder)
    {
        AtomicFile.WriteAllText(Path.Combine(folder, VocabFile), string.Join("\n", vocabulary) + "\n");
        var config = new JsonObject
        {
            ["do_lower_case"] = LowerCase,
            ["strip_accents"] = StripAccents,
            ["tokenize_chinese_chars"] = TokenizeChineseChars,
            ["tokenizer_class"] = "BertTokenizer",
        };
        AtomicFile.WriteAllText(Path.Combine(folder, ConfigFile), config.ToJsonString() + "\n");
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
