// The merging itself is Microsoft.ML.Tokenizers' BpeTokenizer (with "</w>" as end-of-word suffix it gives
// SimpleTokenizer's ids on every golden case); its normalizers and pre-tokenizers are not used because they do not
// follow CLIP's Python cleaning and regex, so cleaning, pre-tokenization and the byte-to-unicode step are done here.

using System.Collections.Concurrent;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using Molyneux.Runtime;
using TorchSharp;

namespace Molyneux.Tokenization;

/// <summary>OpenAI CLIP's byte-level BPE tokenizer: <c>SimpleTokenizer.encode</c>/<c>decode</c> and
/// <c>clip.tokenize</c>, loaded from a Hugging Face vocab.json + merges.txt or from OpenAI's
/// bpe_simple_vocab_16e6.txt.gz. Thread-safe.</summary>
public sealed class ClipTokenizer : ITextTowerTokenizer
{
    torch.Tensor ITextTowerTokenizer.Tokenize(IReadOnlyList<string> texts, int contextLength) => TokenizeBatch(texts, contextLength);

    /// <summary>The text's tokens and the start and end tokens.</summary>
    int ITextTowerTokenizer.CountTokens(string text) => Encode(text).Length + 2;

    void ITextTowerTokenizer.SaveTo(string folder, int contextLength) => SaveHuggingFaceFiles(folder, contextLength);

    public const string StartOfTextToken = "<|startoftext|>";
    public const string EndOfTextToken = "<|endoftext|>";
    public const int DefaultContextLength = 77;

    private const string EndOfWordSuffix = "</w>";

    // CLIP's vocabulary has 49 152 entries before the 2 special tokens: 256 bytes, 256 bytes + "</w>", and then one
    // per merge, so only that many lines of the OpenAI file are used.
    private const int OpenAiMergeCount = 49_152 - 256 - 2;

    // Unbounded, the cache would hold every distinct word of a large caption set.
    private const int MaxCachedWords = 100_000;

    // BPE takes time quadratic in a word's length: a pasted 500 kB run of letters would take minutes (in CLIP's Python
    // too). Longer pre-tokens are encoded as consecutive words of at most this many UTF-8 bytes, far more than any
    // real word or emoji run; below it the ids are CLIP's.
    internal const int MaxWordBytes = 4096;

    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly int[] CharToByte = BuildCharToByte();
    private static readonly char ByteLevelSpace = ByteToChar[' '];
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string[] tokens;
    private readonly Merge[] merges;
    private readonly BpeTokenizer bpe;
    private readonly Dictionary<string, int> addedWords;
    /// <summary>The added words of several pre-tokens ("hot dog"), as their byte-level pre-tokens, longest first.</summary>
    private readonly (string[] Pieces, int Id)[] addedPhrases;
    private readonly ConcurrentDictionary<string, int[]> wordCache = new(StringComparer.Ordinal);
    /// <summary>The ids below this are the vocabulary proper (vocab.json); from it on, every id is an added word,
    /// which Hugging Face's files declare as an added token instead.</summary>
    private readonly int baseCount;

    private readonly record struct Merge(string Left, string Right, int Line);

    public int StartOfTextId { get; }
    public int EndOfTextId { get; }
    public int VocabularySize => tokens.Length;

    /// <summary>The words added to the vocabulary (<see cref="WithAddedWord"/>), by id, each as the text that
    /// tokenizes to it: its cleaned pre-tokens, with a space only where two of them would otherwise run together
    /// ("moongate", "hot dog", "r2d2"). This is what Hugging Face's files declare as the added token's content.</summary>
    public IReadOnlyList<(int Id, string Text)> AddedWords { get; }

    private ClipTokenizer(string[] tokens, Dictionary<string, int> ids, Merge[] merges, string vocabSource, string mergesSource)
    {
        StartOfTextId = ids.TryGetValue(StartOfTextToken, out var start) ? start
            : throw new TokenizerException($"{vocabSource}: the vocabulary has no {StartOfTextToken} token");
        EndOfTextId = ids.TryGetValue(EndOfTextToken, out var end) ? end
            : throw new TokenizerException($"{vocabSource}: the vocabulary has no {EndOfTextToken} token");
        // Every pre-token starts as single byte characters, so BPE can only fail if one of them is missing.
        foreach (var c in ByteToChar)
        {
            if (!ids.ContainsKey(c.ToString()) || !ids.ContainsKey(c + EndOfWordSuffix))
                throw new TokenizerException($"{vocabSource}: the vocabulary lacks the byte token \"{c}\" or \"{c}{EndOfWordSuffix}\"");
        }
        // Decoding maps every character back to a byte.
        for (var id = 0; id < tokens.Length; id++)
        {
            if (tokens[id].Any(c => c >= CharToByte.Length || CharToByte[c] < 0))
                throw new TokenizerException($"{vocabSource}: token \"{tokens[id]}\" (id {id}) has a character outside CLIP's byte alphabet");
        }
        var seen = new Dictionary<(string, string), int>();
        foreach (var merge in merges)
        {
            if (!seen.TryAdd((merge.Left, merge.Right), merge.Line))
                throw new TokenizerException($"{mergesSource}:{merge.Line}: the merge \"{merge.Left} {merge.Right}\" repeats line {seen[(merge.Left, merge.Right)]}");
            foreach (var part in (ReadOnlySpan<string>)[merge.Left, merge.Right, merge.Left + merge.Right])
            {
                if (!ids.ContainsKey(part))
                    throw new TokenizerException($"{mergesSource}:{merge.Line}: \"{part}\" of the merge \"{merge.Left} {merge.Right}\" is not in the vocabulary {vocabSource}");
            }
        }

        // An entry that neither the byte alphabet nor any merge produces can never come out of BPE: a word-final one
        // ("…</w>") is a whole word added to the vocabulary (WithAddedWord), matched before BPE.
        var producible = merges.Select(merge => merge.Left + merge.Right)
            .Concat(ByteToChar.SelectMany(c => new[] { c.ToString(), c + EndOfWordSuffix }))
            .ToHashSet(StringComparer.Ordinal);
        // One that a merge uses as a part is kept as vocabulary, so that vocab.json stays loadable with its merges.
        var mergeParts = merges.SelectMany(merge => new[] { merge.Left, merge.Right }).ToHashSet(StringComparer.Ordinal);
        addedWords = ids.Where(entry => entry.Key.EndsWith(EndOfWordSuffix, StringComparison.Ordinal) && !producible.Contains(entry.Key) && !mergeParts.Contains(entry.Key))
            .ToDictionary(entry => entry.Key[..^EndOfWordSuffix.Length], entry => entry.Value, StringComparer.Ordinal);
        var addedIds = addedWords.Values.ToHashSet();
        baseCount = tokens.Length;
        while (baseCount > 0 && addedIds.Contains(baseCount - 1)) baseCount--;
        AddedWords = [.. addedWords.OrderBy(entry => entry.Value).Select(entry => (entry.Value, AddedWordText(entry.Key)))];
        addedPhrases = addedWords.Where(entry => entry.Key.Contains(ByteLevelSpace))
            .Select(entry => (entry.Key.Split(ByteLevelSpace), entry.Value)).OrderByDescending(phrase => phrase.Item1.Length).ToArray();
        this.tokens = tokens;
        this.merges = merges;
        bpe = BpeTokenizer.Create(new BpeOptions(ids)
        {
            Merges = merges.Select(merge => $"{merge.Left} {merge.Right}"),
            EndOfWordSuffix = EndOfWordSuffix,
        });
    }

    /// <summary>Loads a Hugging Face vocab.json (token to id) and merges.txt (an optional <c>#version</c> line, then
    /// one merge per line, lowest rank first).</summary>
    public static ClipTokenizer FromHuggingFaceFiles(string vocabJsonPath, string mergesTxtPath)
    {
        var ids = ReadVocabularyJson(vocabJsonPath);
        var tokens = new string[ids.Count];
        foreach (var (token, id) in ids)
        {
            if (id < 0 || id >= tokens.Length)
                throw new TokenizerException($"{vocabJsonPath}: token \"{token}\" has id {id}, but the {tokens.Length} ids must run from 0 to {tokens.Length - 1}");
            if (tokens[id] is { } other)
                throw new TokenizerException($"{vocabJsonPath}: id {id} is given to both \"{other}\" and \"{token}\"");
            tokens[id] = token;
        }

        var lines = ReadLines(mergesTxtPath, File.OpenRead);
        var merges = new List<Merge>(lines.Length);
        for (var index = 0; index < lines.Length; index++)
        {
            if (lines[index].Length == 0 || (index == 0 && lines[index].StartsWith("#version", StringComparison.Ordinal)))
                continue;
            merges.Add(ParseMerge(lines[index], mergesTxtPath, index + 1));
        }
        return new ClipTokenizer(tokens, ids, [.. merges], vocabJsonPath, mergesTxtPath);
    }

    /// <summary>Loads OpenAI's bpe_simple_vocab_16e6.txt.gz and builds the vocabulary the way SimpleTokenizer does:
    /// the 256 byte characters, the same with "&lt;/w&gt;", one token per merge, then the two special tokens.</summary>
    public static ClipTokenizer FromOpenAiBpe(string bpeSimpleVocabGzPath) => FromOpenAiBpe(bpeSimpleVocabGzPath, File.OpenRead);

    private const string EmbeddedOpenAiBpe = "Molyneux.Tokenization.bpe_simple_vocab_16e6.txt.gz";

    private static readonly Lazy<ClipTokenizer> OpenAiDefaultTokenizer = new(() => FromOpenAiBpe(
        $"(embedded) {EmbeddedOpenAiBpe}", _ => typeof(ClipTokenizer).Assembly.GetManifestResourceStream(EmbeddedOpenAiBpe)!));

    /// <summary>OpenAI's CLIP vocabulary, shipped inside the library (MIT, from openai/CLIP), for weight files that come
    /// without tokenizer files. Loaded once; the tokenizer is immutable and thread-safe.</summary>
    public static ClipTokenizer OpenAiDefault() => OpenAiDefaultTokenizer.Value;

    private static ClipTokenizer FromOpenAiBpe(string bpeSimpleVocabGzPath, Func<string, Stream> open)
    {
        string[] lines;
        try
        {
            lines = ReadLines(bpeSimpleVocabGzPath, path => new GZipStream(open(path), CompressionMode.Decompress));
        }
        catch (InvalidDataException e)
        {
            throw new TokenizerException($"{bpeSimpleVocabGzPath}: not a valid gzip file ({e.Message})", e);
        }
        if (lines.Length <= OpenAiMergeCount)
            throw new TokenizerException($"{bpeSimpleVocabGzPath}: has {lines.Length} lines, but CLIP needs a header line and {OpenAiMergeCount} merges");

        // The line after the header is merge 0; line numbers in messages count from 1, so it is line 2.
        var merges = new Merge[OpenAiMergeCount];
        for (var rank = 0; rank < OpenAiMergeCount; rank++)
            merges[rank] = ParseMerge(lines[rank + 1], bpeSimpleVocabGzPath, rank + 2);
        return FromClipLayout(merges, bpeSimpleVocabGzPath);
    }

    /// <summary>Builds the tokenizer of BPE merges given lowest rank first, with the vocabulary laid out as OpenAI's
    /// (the 256 byte characters, the same with "&lt;/w&gt;", one token per merge, then the two special tokens, so the
    /// end-of-text id is the largest). Any text encodes, since every byte has a token.</summary>
    public static ClipTokenizer FromMerges(IReadOnlyList<(string Left, string Right)> merges)
    {
        ArgumentNullException.ThrowIfNull(merges);
        // Messages name a merge by its position counted from 1, like a merges.txt line without the header.
        return FromClipLayout([.. merges.Select((merge, index) => new Merge(merge.Left, merge.Right, index + 1))], "merge list");
    }

    private static ClipTokenizer FromClipLayout(Merge[] merges, string source)
    {
        var tokens = new List<string>(ByteTokens.Count + merges.Length + 2);
        var ids = new Dictionary<string, int>(tokens.Capacity, StringComparer.Ordinal);
        void Add(string token, string origin)
        {
            if (!ids.TryAdd(token, tokens.Count))
                throw new TokenizerException($"{origin}: \"{token}\" would be both id {ids[token]} and id {tokens.Count}");
            tokens.Add(token);
        }

        foreach (var token in ByteTokens)
            Add(token, source);
        foreach (var merge in merges)
            Add(merge.Left + merge.Right, $"{source}:{merge.Line}");
        Add(StartOfTextToken, source);
        Add(EndOfTextToken, source);
        return new ClipTokenizer([.. tokens], ids, merges, source, source);
    }

    /// <summary>Loads vocab.json and merges.txt from a Hugging Face model or tokenizer folder.</summary>
    public static ClipTokenizer FromFolder(string folder)
    {
        if (!Directory.Exists(folder))
            throw new TokenizerException($"{folder}: tokenizer folder not found");
        var vocab = Path.Combine(folder, "vocab.json");
        var merges = Path.Combine(folder, "merges.txt");
        foreach (var file in (ReadOnlySpan<string>)[vocab, merges])
        {
            if (!File.Exists(file))
                throw new TokenizerException($"{folder}: has no {Path.GetFileName(file)} (a CLIP tokenizer folder holds vocab.json and merges.txt)");
        }
        var tokenizer = FromHuggingFaceFiles(vocab, merges);
        var (declared, source) = HuggingFaceTokenizerFiles.ReadAddedTokens(folder);
        return source is null ? tokenizer : tokenizer.WithDeclaredTokens(declared, source);
    }

    /// <summary>Writes a Hugging Face CLIP tokenizer: vocab.json and merges.txt, and tokenizer_config.json,
    /// special_tokens_map.json (and added_tokens.json when there are added words) as transformers' CLIPTokenizer
    /// reads them, with <c>model_max_length</c> = <paramref name="contextLength"/> so that Python truncates where the
    /// model's positions end. Added words are not in vocab.json but declared as added tokens with their ids and
    /// text: transformers' fast tokenizer numbers added tokens on from the size of vocab.json, and only an added
    /// token is split off before BPE. <see cref="FromFolder"/> reads all of it back to the same ids.</summary>
    public void SaveHuggingFaceFiles(string folder, int contextLength = DefaultContextLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        AtomicFile.Write(Path.Combine(folder, "vocab.json"), stream =>
        {
            // Relaxed escaping keeps the byte-alphabet characters readable, as in the files Hugging Face publishes.
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            writer.WriteStartObject();
            for (var id = 0; id < baseCount; id++)
                writer.WriteNumber(tokens[id], id);
            writer.WriteEndObject();
        });
        AtomicFile.Write(Path.Combine(folder, "merges.txt"), stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true) { NewLine = "\n" };
            writer.WriteLine("#version: 0.2");
            foreach (var merge in this.merges)
                writer.WriteLine($"{merge.Left} {merge.Right}");
        });
        // The field set of openai/clip-vit-base-patch32's tokenizer_config.json as transformers saves it today.
        var settings = new Dictionary<string, JsonNode?>
        {
            ["add_prefix_space"] = false,
            ["clean_up_tokenization_spaces"] = true,
            ["do_lower_case"] = true,
            ["errors"] = "replace",
            ["model_max_length"] = contextLength,
            ["tokenizer_class"] = "CLIPTokenizer",
        };
        var special = new Dictionary<string, string>
        {
            ["bos_token"] = StartOfTextToken, ["eos_token"] = EndOfTextToken, ["pad_token"] = EndOfTextToken, ["unk_token"] = EndOfTextToken,
        };
        var added = new List<HuggingFaceAddedToken>
        {
            new(StartOfTextId, StartOfTextToken, Special: true), new(EndOfTextId, EndOfTextToken, Special: true),
        };
        // normalized: the fast tokenizer matches the word in the lower-cased text, as CLIP's own cleaning lower-cases.
        added.AddRange(AddedWords.Where(word => word.Id >= baseCount).Select(word => new HuggingFaceAddedToken(word.Id, word.Text, Special: false, Normalized: true)));
        HuggingFaceTokenizerFiles.Write(folder, settings, special, added);
    }

    /// <summary>This tokenizer with the added tokens a Hugging Face folder declares: the special tokens must be the
    /// vocabulary's own at the same ids, and the others follow the vocabulary without gaps, in id order, each taken as
    /// an added word (<see cref="WithAddedWord"/>). Anything else has no equivalent here and is refused by name.</summary>
    private ClipTokenizer WithDeclaredTokens(IReadOnlyList<HuggingFaceAddedToken> declared, string source)
    {
        var words = new List<string>();
        foreach (var token in declared.OrderBy(token => token.Id))
        {
            if (token.Id < this.tokens.Length)
            {
                var existing = this.tokens[token.Id];
                // Its own text (a special token), or an added word saved in vocab.json before added tokens were written.
                if (existing == token.Content || (CanAddWord(token.Content) && existing == AddedWordToken(token.Content))) continue;
                throw new TokenizerException($"{source}: added token \"{token.Content}\" has id {token.Id}, which vocab.json gives to \"{existing}\"");
            }
            var next = this.tokens.Length + words.Count;
            if (token.Id != next)
                throw new TokenizerException($"{source}: added token \"{token.Content}\" has id {token.Id}, but the next id after the vocabulary is {next}; " +
                                             "added tokens must follow the vocabulary without gaps");
            if (token.Special)
                throw new TokenizerException($"{source}: added token \"{token.Content}\" (id {token.Id}) is special; a CLIP tokenizer has only " +
                                             $"{StartOfTextToken} and {EndOfTextToken}");
            words.Add(token.Content);
        }
        try
        {
            return words.Count == 0 ? this : WithAddedWords(words);
        }
        catch (TokenizerException e)
        {
            throw new TokenizerException($"{source}: {e.Message}", e);
        }
    }

    /// <summary>The vocabulary entry of an added word: its pre-tokens in byte-level form, joined by the byte-level
    /// space, with the end-of-word suffix.</summary>
    private static string AddedWordToken(string word) => string.Join(ByteLevelSpace, CleanAndSplit(word).Select(ToByteLevel)) + EndOfWordSuffix;

    /// <summary>The text of an added word's entry (without suffix): the pre-tokens back as text, joined without a
    /// space where the joined text still splits into the same pre-tokens ("r2d2", "don't"), with one elsewhere
    /// ("hot dog").</summary>
    private static string AddedWordText(string entry)
    {
        var pieces = entry.Split(ByteLevelSpace).Select(piece => Encoding.UTF8.GetString(piece.Select(c => (byte)CharToByte[c]).ToArray())).ToArray();
        var text = pieces[0];
        for (var i = 1; i < pieces.Length; i++)
        {
            var joined = text + pieces[i];
            text = CleanAndSplit(joined).SequenceEqual(pieces[..(i + 1)], StringComparer.Ordinal) ? joined : text + " " + pieces[i];
        }
        return text;
    }

    /// <summary>Whether <see cref="WithAddedWord"/> can take <paramref name="word"/>: some text besides whitespace and
    /// no special token.</summary>
    public static bool CanAddWord(string word) => CleanAndSplit(word) is { Count: > 0 } pieces && !pieces.Any(piece => piece is StartOfTextToken or EndOfTextToken);

    /// <summary>This vocabulary plus one whole word, with the next id (the old <see cref="VocabularySize"/>). The word
    /// is matched as its run of pre-tokens after cleaning (so case-insensitively, and only where it stands alone, not
    /// inside a longer word) before BPE, which leaves every text without it tokenized as before. A name of several
    /// pre-tokens ("hot dog", "r2d2") becomes one token too, as textual inversion's placeholder: its pre-tokens in a
    /// row, whatever the spacing between them. It is saved in vocab.json as "word&lt;/w&gt;" (pre-tokens joined by the
    /// byte-level space, "hotĠdog&lt;/w&gt;"), an entry no merge produces, which is how loading recognises it again.
    /// Textual inversion's concept token is such a word.</summary>
    public ClipTokenizer WithAddedWord(string word) => WithAddedWords([word]);

    /// <summary><see cref="WithAddedWord"/> for several words at once, with consecutive ids in the order given.</summary>
    private ClipTokenizer WithAddedWords(IReadOnlyList<string> words)
    {
        var ids = new Dictionary<string, int>(this.tokens.Length + words.Count, StringComparer.Ordinal);
        for (var id = 0; id < this.tokens.Length; id++)
            ids.Add(this.tokens[id], id);
        var tokens = new List<string>(this.tokens);
        foreach (var word in words)
        {
            if (!CanAddWord(word))
                throw new TokenizerException($"\"{word}\" cannot be added to CLIP's vocabulary: an added word needs at least one letter, digit or sign and no special token");
            var token = AddedWordToken(word);
            if (!ids.TryAdd(token, tokens.Count))
                throw new TokenizerException($"\"{word}\" is already the single token {ids[token]} of the vocabulary; an added word must be new");
            tokens.Add(token);
        }
        var described = string.Join(", ", words.Select(word => $"\"{word}\""));
        return new ClipTokenizer([.. tokens], ids, this.merges, $"vocabulary with the added word{(words.Count == 1 ? "" : "s")} {described}", "merges");
    }

    /// <summary>The pre-tokens SimpleTokenizer runs BPE on: the cleaned text split by CLIP's regex
    /// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>.</summary>
    public static IReadOnlyList<string> CleanAndSplit(string text) => Split(ClipTextCleaner.Clean(text));

    /// <summary>SimpleTokenizer.encode: the BPE ids of the text, without start and end tokens.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>();
        var pieces = CleanAndSplit(text);
        for (var i = 0; i < pieces.Count; i++)
        {
            var piece = pieces[i];
            if (piece == StartOfTextToken) ids.Add(StartOfTextId);
            else if (piece == EndOfTextToken) ids.Add(EndOfTextId);
            else if (PhraseAt(pieces, i) is var (length, id))
            {
                ids.Add(id);
                i += length - 1;
            }
            else ids.AddRange(EncodeWord(piece));
        }
        return [.. ids];
    }

    /// <summary>The longest added phrase whose pre-tokens start at <paramref name="start"/>: its length and id.</summary>
    private (int Length, int Id)? PhraseAt(IReadOnlyList<string> pieces, int start)
    {
        foreach (var (phrase, id) in addedPhrases)
        {
            if (start + phrase.Length > pieces.Count) continue;
            var matches = true;
            for (var k = 0; k < phrase.Length && matches; k++)
                matches = ToByteLevel(pieces[start + k]) == phrase[k];
            if (matches) return (phrase.Length, id);
        }
        return null;
    }

    /// <summary>clip.tokenize for one text: start, the BPE ids, end, then padding with 0 up to
    /// <paramref name="contextLength"/>. A longer text keeps its first ids and ends with the end token, or throws
    /// when <paramref name="truncate"/> is false.</summary>
    public long[] Tokenize(string text, int contextLength = DefaultContextLength, bool truncate = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        var row = new long[contextLength];
        FillRow(text, row, truncate);
        return row;
    }

    /// <summary>clip.tokenize for a batch: an int64 tensor [texts.Count, contextLength].</summary>
    public torch.Tensor TokenizeBatch(IReadOnlyList<string> texts, int contextLength = DefaultContextLength, bool truncate = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        var rows = new long[texts.Count * contextLength];
        for (var i = 0; i < texts.Count; i++)
            FillRow(texts[i], rows.AsSpan(i * contextLength, contextLength), truncate);
        return torch.tensor(rows, [texts.Count, contextLength], torch.int64);
    }

    /// <summary>SimpleTokenizer.decode: the UTF-8 text of the tokens (invalid sequences replaced), with every
    /// "&lt;/w&gt;" turned into a space. Padding ids (0) decode as "!", as in CLIP.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)this.tokens.Length)
                throw new TokenizerException($"id {id} is outside the vocabulary of {this.tokens.Length} tokens");
            foreach (var c in this.tokens[id])
                bytes.Add((byte)CharToByte[c]);
        }
        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes)).Replace(EndOfWordSuffix, " ");
    }

    private void FillRow(string text, Span<long> row, bool truncate)
    {
        var ids = Encode(text);
        if (ids.Length + 2 > row.Length && !truncate)
            throw new TokenizerException($"text has {ids.Length + 2} tokens with start and end, more than the context length {row.Length}: \"{Preview(text)}\"");
        var kept = Math.Min(ids.Length, row.Length - 2);
        row[0] = StartOfTextId;
        for (var i = 0; i < kept; i++)
            row[i + 1] = ids[i];
        row[kept + 1] = EndOfTextId;
    }

    private static string Preview(string text) => text.Length <= 60 ? text : text[..57] + "...";

    private int[] EncodeWord(string piece)
    {
        if (wordCache.TryGetValue(piece, out var cached))
            return cached;
        var byteLevel = ToByteLevel(piece);
        if (byteLevel.Length > MaxWordBytes && !addedWords.ContainsKey(byteLevel))
            return [.. SplitLongWord(piece).SelectMany(EncodeWord)];
        var ids = addedWords.TryGetValue(byteLevel, out var added) ? [added]
            : bpe.EncodeToIds(byteLevel, considerPreTokenization: false, considerNormalization: false).ToArray();
        if (wordCache.Count < MaxCachedWords)
            wordCache.TryAdd(piece, ids);
        return ids;
    }

    /// <summary>Cuts between code points, never inside one, so each part is valid text of at most
    /// <see cref="MaxWordBytes"/> UTF-8 bytes.</summary>
    private static IEnumerable<string> SplitLongWord(string piece)
    {
        var (start, bytes) = (0, 0);
        for (var i = 0; i < piece.Length;)
        {
            Rune.DecodeFromUtf16(piece.AsSpan(i), out var rune, out var length);
            if (bytes + rune.Utf8SequenceLength > MaxWordBytes)
            {
                yield return piece[start..i];
                (start, bytes) = (i, 0);
            }
            bytes += rune.Utf8SequenceLength;
            i += length;
        }
        yield return piece[start..];
    }

    private static string ToByteLevel(string piece)
    {
        var bytes = Encoding.UTF8.GetBytes(piece);
        return string.Create(bytes.Length, bytes, static (chars, bytes) =>
        {
            for (var i = 0; i < bytes.Length; i++)
                chars[i] = ByteToChar[bytes[i]];
        });
    }

    /// <summary>CLIP's layout of the first 512 ids: the byte characters in code-point order, then the same with
    /// "&lt;/w&gt;".</summary>
    internal static IReadOnlyList<string> ByteTokens { get; } =
        [.. ByteToChar.Order().Select(c => c.ToString()), .. ByteToChar.Order().Select(c => c + EndOfWordSuffix)];

    private static readonly int[] ByteToTokenId = BuildByteToTokenId();

    /// <summary>The ids of a pre-token's symbols before any merge, where learning merges starts: one byte token per
    /// UTF-8 byte, the last one with "&lt;/w&gt;". Encoding starts from the same symbols: <see cref="ToByteLevel"/>,
    /// to which the BPE tokenizer adds the suffix.</summary>
    internal static int[] ByteTokenIds(string piece)
    {
        var bytes = Encoding.UTF8.GetBytes(piece);
        var ids = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
            ids[i] = ByteToTokenId[bytes[i]];
        ids[^1] += ByteToChar.Length;
        return ids;
    }

    private static readonly string[] Literals = [StartOfTextToken, EndOfTextToken, "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    private enum CharKind { Unmatched, Letter, Number, Other }

    /// <summary>Finds the regex matches left to right. At each position the literal alternatives come first, then a
    /// run of letters, a single number character, or a run of anything else that is not whitespace; what matches
    /// nothing (whitespace) is skipped. Categories are those of code points, not UTF-16 units, as in Python.</summary>
    internal static List<string> Split(string cleaned)
    {
        var pieces = new List<string>();
        for (var start = 0; start < cleaned.Length;)
        {
            var length = MatchLength(cleaned, start);
            if (length == 0)
            {
                start++;
                continue;
            }
            pieces.Add(cleaned.Substring(start, length));
            start += length;
        }
        return pieces;
    }

    private static int MatchLength(string text, int start)
    {
        foreach (var literal in Literals)
        {
            if (StartsWithIgnoringCase(text, start, literal))
                return literal.Length;
        }
        var kind = KindAt(text, start, out var end);
        if (kind is CharKind.Unmatched) return 0;
        if (kind is CharKind.Number) return end - start;
        while (end < text.Length && KindAt(text, end, out var next) == kind)
            end = next;
        return end - start;
    }

    // The regex is case-insensitive, and on lower-cased text the only other character that then matches one of the
    // literals' letters is ſ (U+017F), which case-folds to s. Such a match is one pre-token, but only the exact
    // special-token strings map to the special ids.
    private static bool StartsWithIgnoringCase(string text, int start, string literal)
    {
        if (text.Length - start < literal.Length) return false;
        for (var i = 0; i < literal.Length; i++)
        {
            var c = text[start + i];
            if (c != literal[i] && !(literal[i] == 's' && c == 'ſ'))
                return false;
        }
        return true;
    }

    private static CharKind KindAt(string text, int index, out int next)
    {
        Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out var length);
        next = index + length;
        // After cleaning the only whitespace left is ' ', so Python's and the regex module's slightly different
        // whitespace sets agree here.
        if (rune.IsBmp && ClipTextCleaner.IsPythonWhitespace((char)rune.Value)) return CharKind.Unmatched;
        // Ignoring case, the regex module folds U+0345 to a letter (ι), so the negated class rejects it, while
        // [\p{L}] does not accept it either: it matches no branch and is dropped like whitespace.
        if (rune.Value == 0x0345) return CharKind.Unmatched;
        return Rune.GetUnicodeCategory(rune) switch
        {
            >= System.Globalization.UnicodeCategory.UppercaseLetter and <= System.Globalization.UnicodeCategory.OtherLetter => CharKind.Letter,
            >= System.Globalization.UnicodeCategory.DecimalDigitNumber and <= System.Globalization.UnicodeCategory.OtherNumber => CharKind.Number,
            _ => CharKind.Other,
        };
    }

    private static Merge ParseMerge(string line, string path, int lineNumber)
    {
        var parts = line.Split(' ');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            throw new TokenizerException($"{path}:{lineNumber}: expected two symbols separated by one space, found \"{line}\"");
        return new Merge(parts[0], parts[1], lineNumber);
    }

    /// <summary>The file's lines, split at "\n" with a trailing "\r" removed, read as strict UTF-8.</summary>
    private static string[] ReadLines(string path, Func<string, Stream> open)
    {
        var text = ReadFile(path, () =>
        {
            using var reader = new StreamReader(open(path), StrictUtf8);
            return reader.ReadToEnd();
        });
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
            lines[i] = lines[i].TrimEnd('\r');
        return lines;
    }

    private static Dictionary<string, int> ReadVocabularyJson(string path)
    {
        var bytes = ReadFile(path, () => File.ReadAllBytes(path));
        // The parser checks a string's UTF-8 only when the string is read, which would then fail with an
        // InvalidOperationException; checking first gives one clear message.
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            throw new TokenizerException($"{path}: not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{path}: not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new TokenizerException($"{path}: expected a JSON object mapping tokens to ids, found {document.RootElement.ValueKind}");
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id))
                    throw new TokenizerException($"{path}: token \"{entry.Name}\" has id {entry.Value.GetRawText()}, expected an integer");
                if (!ids.TryAdd(entry.Name, id))
                    throw new TokenizerException($"{path}: token \"{entry.Name}\" appears twice");
            }
            return ids;
        }
    }

    private static T ReadFile<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TokenizerException($"{path}: file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerException($"{path}: cannot be read ({e.Message})", e);
        }
        catch (DecoderFallbackException e)
        {
            throw new TokenizerException($"{path}: not valid UTF-8 ({e.Message})", e);
        }
    }

    /// <summary>GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the other 68 bytes take
    /// the characters from U+0100 on, so every token is printable text without spaces.</summary>
    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
            table[b] = b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ' ? (char)b : (char)next++;
        return table;
    }

    private static int[] BuildByteToTokenId()
    {
        var table = new int[ByteToChar.Length];
        for (var id = 0; id < table.Length; id++)
            table[CharToByte[ByteTokens[id][0]]] = id;
        return table;
    }

    private static int[] BuildCharToByte()
    {
        var table = new int[ByteToChar.Max() + 1];
        Array.Fill(table, -1);
        for (var b = 0; b < ByteToChar.Length; b++)
            table[ByteToChar[b]] = b;
        return table;
    }
}
