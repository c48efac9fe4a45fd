using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Molyneux.Tokenization;
using Xunit.Abstractions;

namespace Molyneux.Tests.Reliability;

/// <summary>A text to tokenize and how it was made (the text itself can be megabytes long).</summary>
public sealed record FuzzText(string Recipe, string Text)
{
    public override string ToString() => $"{Recipe} ({Text.Length} chars)";
}

/// <summary>Fuzzes CLIP's tokenizer on texts and on its files. Any text of valid UTF-16 encodes without an exception
/// to ids inside the vocabulary that decode back to its pre-tokens; a text with an unpaired surrogate may only be
/// refused with <see cref="TokenizerException"/>. Malformed vocab.json / merges.txt files are refused with
/// <see cref="TokenizerException"/>, and whatever loads tokenizes.</summary>
public sealed class TokenizerFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    /// <summary>Pieces that exercise each step of cleaning and splitting: HTML entities (valid, truncated, out of
    /// range), Python's whitespace set, case rules with context (Σ, İ), the regex's literals and its quirks (ſ,
    /// U+0345), control characters, combining marks and characters outside the BMP.</summary>
    private static readonly string[] Atoms =
    [
        "a", "Z", "7", ".", "'", "'s", "'LL", "-", "<", "|", ">", "<|startoftext|>", "<|endoftext|>", "<|endoftext|",
        " ", "\t", "\n", "\r\n", "\u00A0", "\u1680", "\u2003", "\u2028", "\u3000", "\u001C", "\u0085", "\u200B", "\uFEFF",
        "\0", "\u0001", "\u007F", "\u0080", "\u009F",
        "&amp;", "&lt;", "&AMP;", "&#65;", "&#x1F600;", "&#xD800;", "&#0;", "&#99999999999999;", "&notin;", "&not", "&noti",
        "&", "&#", "&#x", "&;", "&#128;",
        "ſ", "İ", "Σ", "ΣΑΣ", "\u0345", "ǅ", "ß", "ﬁ", "é", "e\u0301", "\u0301", "中文", "日本語", "한국어", "עברית", "العربية",
        "🐈", "👩‍👩‍👧", "🇫🇷", "𝐚", "𝟏", "𐐀", "\U0001F3FB", "\uFFFD", "\uFFFF",
    ];

    private static readonly Gen<string> Atom = Gen.Frequency(
        (8, Gen.Elements(Atoms)),
        (2, Gen.Choose(0x20, 0xD7FF).Select(c => ((char)c).ToString())),
        (1, Gen.Choose(0x10000, 0x10FFFF).Select(char.ConvertFromUtf32)));

    private static readonly Gen<string> LoneSurrogate = Gen.Choose(0xD800, 0xDFFF).Select(c => ((char)c).ToString());

    private static Gen<FuzzText> Texts()
    {
        var ordinary = Gen.ListOf(Atom).Select(atoms => string.Concat(atoms));
        var broken = from text in ordinary
            from surrogate in LoneSurrogate
            from at in Gen.Choose(0, int.MaxValue)
            select text.Insert(at % (text.Length + 1), surrogate);
        // Huge texts: one word or many, up to a few hundred thousand characters.
        var huge = from atom in Gen.Elements("a", "ab ", "🐈", "&amp;", "Σ", " ", "x-", "中")
            from count in Gen.Choose(1_000, 100_000)
            select new FuzzText($"\"{atom}\" × {count}", string.Concat(Enumerable.Repeat(atom, count)));
        return Gen.Frequency(
            (90, ordinary.Select(text => new FuzzText($"text \"{text}\"", text))),
            (9, broken.Select(text => new FuzzText($"text with an unpaired surrogate \"{text}\"", text))),
            (1, huge));
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Fuzz_tokenizer_encodes_any_valid_text_and_round_trips_its_ids()
    {
        var tokenizer = ClipTokenizer.OpenAiDefault();
        Fuzz.Run<FuzzText, TokenizerException>(output, "ClipTokenizer text", Texts(), input =>
        {
            try
            {
                var ids = tokenizer.Encode(input.Text);
                Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabularySize - 1));
                // Pre-tokens hold no spaces, and decoding ends each word with one (a very long one is encoded as
                // several words), so without spaces the ids decode to exactly the pre-tokens.
                Assert.Equal(string.Concat(ClipTokenizer.CleanAndSplit(input.Text)), tokenizer.Decode(ids).Replace(" ", ""));
                var row = tokenizer.Tokenize(input.Text);
                Assert.Equal(tokenizer.StartOfTextId, row[0]);
                Assert.Contains(tokenizer.EndOfTextId, row);
            }
            catch (TokenizerException refused) when (!HasUnpairedSurrogate(input.Text))
            {
                // Only invalid UTF-16 may be refused; for valid text the documented exception is itself the failure.
                Assert.Fail($"valid text refused: {refused.Message}");
            }
        });
    }

    /// <summary>A small vocabulary in Hugging Face's files (vocab.json, merges.txt): the byte tokens, a few dozen
    /// merges learnt from captions and the special tokens.</summary>
    private static readonly Lazy<(string Vocab, string Merges)> SeedFiles = new(() =>
    {
        using var folder = new TestPaths.TempFolder();
        string[] captions = ["a photo of a cat", "a photo of the cats", "the red square and the blue circle", "café au lait"];
        BpeTrainer.Train(Enumerable.Repeat(captions, 5).SelectMany(c => c), BpeTrainer.MinimumVocabularySize + 40).SaveHuggingFaceFiles(folder.Path);
        return (File.ReadAllText(folder.File("vocab.json")), File.ReadAllText(folder.File("merges.txt")));
    });

    /// <summary>Edits that keep vocab.json well formed but change what it says: two ids swapped, an entry added with
    /// the next id, the last one removed.</summary>
    private static Gen<(string Recipe, string Json)> VocabEdits(string vocab)
    {
        var entries = JsonNode.Parse(vocab)!.AsObject().Select(p => (p.Key, Id: p.Value!.GetValue<int>())).ToList();
        string Write(IEnumerable<(string Key, int Id)> edited) => new JsonObject(edited.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Id))).ToJsonString();
        return Gen.OneOf(
            from i in Gen.Choose(0, entries.Count - 1)
            from j in Gen.Choose(0, entries.Count - 1)
            select ($"swap the ids of \"{entries[i].Key}\" and \"{entries[j].Key}\"",
                Write(entries.Select((e, k) => k == i ? (e.Key, entries[j].Id) : k == j ? (e.Key, entries[i].Id) : e))),
            from token in Gen.Frequency((3, Gen.Elements("cat</w>", "moongate</w>", "xyz", "</w>", "<|endoftext|>")), (1, Atom))
            select ($"add \"{token}\" as id {entries.Count}",
                Write(entries.Any(e => e.Key == token) ? entries : entries.Append((token, entries.Count)))),
            Gen.Constant(($"remove the last entry \"{entries[^1].Key}\"", Write(entries.SkipLast(1)))));
    }

    /// <summary>Line edits of merges.txt: a line removed, repeated, moved or replaced by other symbols.</summary>
    private static Gen<(string Recipe, string Text)> MergesEdits(string merges)
    {
        var lines = merges.Split('\n');
        var symbol = Gen.Frequency((3, Gen.Elements(lines.SelectMany(line => line.Split(' ')).Where(part => part.Length > 0).Distinct().ToArray())), (1, Atom));
        return from at in Gen.Choose(0, lines.Length - 1)
            from other in Gen.Choose(0, lines.Length - 1)
            from replacement in Gen.Choose(0, 3).SelectMany(count => Gen.ListOf(symbol, count)).Select(parts => string.Join(" ", parts))
            from kind in Gen.Elements("remove", "repeat", "move", "replace")
            select kind switch
            {
                "remove" => ($"remove line {at + 1}", string.Join('\n', lines.Where((_, i) => i != at))),
                "repeat" => ($"repeat line {at + 1}", string.Join('\n', lines.Take(at + 1).Append(lines[at]).Concat(lines.Skip(at + 1)))),
                "move" => ($"move line {at + 1} before line {other + 1}", string.Join('\n', Move(lines, at, other))),
                _ => ($"replace line {at + 1} with \"{replacement}\"", string.Join('\n', lines.Select((line, i) => i == at ? replacement : line))),
            };
    }

    private static IEnumerable<string> Move(string[] lines, int from, int to)
    {
        var moved = lines.Where((_, i) => i != from).ToList();
        moved.Insert(Math.Min(to, moved.Count), lines[from]);
        return moved;
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Fuzz_tokenizer_files_reader_throws_only_tokenizer_exceptions()
    {
        var (vocab, merges) = SeedFiles.Value;
        var vocabInputs = Gen.Frequency(
            (3, Mutations.Json("vocab.json", JsonNode.Parse(vocab)!).Select(e => new Mutant(e.Recipe, Encoding.UTF8.GetBytes(e.Json)))),
            (3, VocabEdits(vocab).Select(e => new Mutant($"vocab.json; {e.Recipe}", Encoding.UTF8.GetBytes(e.Json)))),
            (2, Mutations.Bytes("vocab.json", Encoding.UTF8.GetBytes(vocab))));
        var mergesInputs = Gen.Frequency(
            (3, MergesEdits(merges).Select(e => new Mutant($"merges.txt; {e.Recipe}", Encoding.UTF8.GetBytes(e.Text)))),
            (2, Mutations.Bytes("merges.txt", Encoding.UTF8.GetBytes(merges))));
        var intactVocab = new Mutant("vocab.json", Encoding.UTF8.GetBytes(vocab));
        var intactMerges = new Mutant("merges.txt", Encoding.UTF8.GetBytes(merges));
        var inputs = Gen.Frequency(
            (4, vocabInputs.Select(v => (Vocab: v, Merges: intactMerges))),
            (4, mergesInputs.Select(m => (Vocab: intactVocab, Merges: m))),
            (1, Gen.Zip(vocabInputs, mergesInputs).Select(pair => (Vocab: pair.Item1, Merges: pair.Item2))));

        var (vocabPath, mergesPath) = (folder.File("vocab.json"), folder.File("merges.txt"));
        Fuzz.Run<(Mutant Vocab, Mutant Merges), TokenizerException>(output, "ClipTokenizer files", inputs, files =>
        {
            File.WriteAllBytes(vocabPath, files.Vocab.Bytes);
            File.WriteAllBytes(mergesPath, files.Merges.Bytes);
            var tokenizer = ClipTokenizer.FromHuggingFaceFiles(vocabPath, mergesPath);
            var ids = tokenizer.Encode("A photo of the cats, naïve café 🐈 <|endoftext|> moongate");
            Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabularySize - 1));
            Assert.NotNull(tokenizer.Decode(ids));
        });
    }

    private static bool HasUnpairedSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return true;
        }
        return false;
    }
}
