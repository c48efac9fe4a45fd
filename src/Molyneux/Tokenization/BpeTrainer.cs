using System.Runtime.InteropServices;

namespace Molyneux.Tokenization;

/// <summary>Learns a byte-level BPE vocabulary in OpenAI CLIP's format from a corpus, for models pretrained from
/// scratch on text that OpenAI's vocabulary does not fit. Texts are cut with CLIP's own cleaning and pre-tokenization,
/// so training sees exactly the words the tokenizer later encodes.</summary>
public static class BpeTrainer
{
    /// <summary>The 256 byte tokens, the same with "&lt;/w&gt;", and the two special tokens: the size of a vocabulary
    /// without merges, which still encodes any text.</summary>
    public const int MinimumVocabularySize = 2 * 256 + 2;

    /// <summary>Counts the words of <paramref name="texts"/> and repeatedly merges the most frequent adjacent pair of
    /// symbols (ties go to the pair whose left, then right, symbol is first in ordinal order), until the vocabulary
    /// has <paramref name="vocabularySize"/> tokens or no pair occurs <paramref name="minFrequency"/> times. The result
    /// does not depend on the order of the texts.</summary>
    public static ClipTokenizer Train(IEnumerable<string> texts, int vocabularySize, int minFrequency = 2)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, MinimumVocabularySize);
        ArgumentOutOfRangeException.ThrowIfLessThan(minFrequency, 1);
        return ClipTokenizer.FromMerges(LearnMerges(texts, vocabularySize - MinimumVocabularySize, minFrequency));
    }

    /// <summary>The merges, lowest rank first.</summary>
    internal static List<(string Left, string Right)> LearnMerges(IEnumerable<string> texts, int maxMerges, int minFrequency) =>
        new Learner(CountWords(texts), minFrequency).Learn(maxMerges);

    private static Dictionary<string, long> CountWords(IEnumerable<string> texts)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (var piece in ClipTokenizer.CleanAndSplit(text))
            {
                // The special tokens encode to their own ids, never through merges.
                if (piece is not (ClipTokenizer.StartOfTextToken or ClipTokenizer.EndOfTextToken))
                    CollectionsMarshal.GetValueRefOrAddDefault(counts, piece, out _)++;
            }
        }
        return counts;
    }

    /// <summary>A distinct word: its current symbols (token ids, shrinking in place as pairs merge) and how often it
    /// occurs.</summary>
    private sealed class Word(int[] symbols, long count)
    {
        public readonly int[] Symbols = symbols;
        public readonly long Count = count;
        public int Length = symbols.Length;
    }

    /// <summary>Keeps the corpus-wide count of every adjacent pair and updates it from the words a merge touches
    /// only, so a merge costs what those words cost rather than a pass over the corpus.</summary>
    private sealed class Learner
    {
        private readonly int minFrequency;
        private readonly Word[] words;
        // Symbol ids are the ids the tokenizer will give the tokens: bytes first, then one per merge in order.
        private readonly List<string> symbols = [.. ClipTokenizer.ByteTokens];
        private readonly Dictionary<long, long> pairCounts = [];
        // Words where a pair was seen; entries go stale when a word stops containing the pair, which a merge skips.
        private readonly Dictionary<long, List<int>> pairWords = [];
        // Most frequent first. A pair's count never grows once its creating merge is done (only a merge makes new
        // adjacencies, and those involve the new symbol), so an entry holds at least the current count and one whose
        // count is current when it comes out is the true maximum; stale entries are put back with their count.
        private readonly PriorityQueue<long, (long Count, long Pair)> queue;
        private readonly int[] mergedAtStep;

        public Learner(Dictionary<string, long> wordCounts, int minFrequency)
        {
            this.minFrequency = minFrequency;
            words = [.. wordCounts.Select(entry => new Word(ClipTokenizer.ByteTokenIds(entry.Key), entry.Value))];
            mergedAtStep = new int[this.words.Length];
            queue = new PriorityQueue<long, (long Count, long Pair)>(Comparer<(long Count, long Pair)>.Create(ComparePriority));
            for (var index = 0; index < this.words.Length; index++)
            {
                var word = this.words[index];
                AddCounts(word, word.Count);
                for (var i = 0; i + 1 < word.Length; i++)
                    Record(Key(word.Symbols[i], word.Symbols[i + 1]), index);
            }
            foreach (var (pair, count) in pairCounts)
                Enqueue(pair, count);
        }

        public List<(string Left, string Right)> Learn(int maxMerges)
        {
            var merges = new List<(string Left, string Right)>(maxMerges);
            while (merges.Count < maxMerges && queue.TryDequeue(out var pair, out var queued))
            {
                var count = pairCounts.GetValueOrDefault(pair);
                if (count != queued.Count)
                {
                    Enqueue(pair, count);
                    continue;
                }
                // The merged string is always new: inside any word, the bytes of a symbol went through the same merges
                // as they would alone (a merge across its edge would have split them between symbols), so one merge
                // makes each string and every merge gets its own token, as CLIP's layout needs.
                merges.Add((this.symbols[Left(pair)], this.symbols[Right(pair)]));
                this.symbols.Add(this.symbols[Left(pair)] + this.symbols[Right(pair)]);
                Merge(pair, newSymbol: this.symbols.Count - 1, step: merges.Count);
            }
            return merges;
        }

        private void Merge(long pair, int newSymbol, int step)
        {
            var (left, right) = (Left(pair), Right(pair));
            var created = new HashSet<long>();
            foreach (var index in pairWords[pair])
            {
                if (mergedAtStep[index] == step)
                    continue;
                mergedAtStep[index] = step;
                var word = this.words[index];
                // Taking all of the word's pairs out and putting the new ones back is simpler than patching the
                // neighbours of each merge, which overlapping occurrences (as in "a a a") make fiddly; words are short.
                AddCounts(word, -word.Count);
                var symbols = word.Symbols;
                var length = 0;
                for (var i = 0; i < word.Length; i++)
                {
                    if (i + 1 < word.Length && symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[length++] = newSymbol;
                        i++;
                    }
                    else
                    {
                        symbols[length++] = symbols[i];
                    }
                }
                word.Length = length;
                AddCounts(word, word.Count);
                for (var i = 0; i < length; i++)
                {
                    if (symbols[i] != newSymbol)
                        continue;
                    if (i > 0)
                        Record(Key(symbols[i - 1], newSymbol), index, created);
                    if (i + 1 < length)
                        Record(Key(newSymbol, symbols[i + 1]), index, created);
                }
            }
            // The pair cannot occur again: its symbols only become adjacent anew through a merge, which makes a new symbol.
            pairWords.Remove(pair);
            foreach (var newPair in created)
                Enqueue(newPair, pairCounts[newPair]);
        }

        private void AddCounts(Word word, long delta)
        {
            for (var i = 0; i + 1 < word.Length; i++)
            {
                var pair = Key(word.Symbols[i], word.Symbols[i + 1]);
                ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _);
                count += delta;
                if (count == 0)
                    pairCounts.Remove(pair);
            }
        }

        private void Record(long pair, int index, HashSet<long>? created = null)
        {
            (CollectionsMarshal.GetValueRefOrAddDefault(pairWords, pair, out _) ??= []).Add(index);
            created?.Add(pair);
        }

        // Counts never grow, so a pair below the threshold can be dropped for good.
        private void Enqueue(long pair, long count)
        {
            if (count >= minFrequency)
                queue.Enqueue(pair, (count, pair));
        }

        private int ComparePriority((long Count, long Pair) x, (long Count, long Pair) y)
        {
            if (x.Count != y.Count)
                return y.Count.CompareTo(x.Count);
            var left = string.CompareOrdinal(symbols[Left(x.Pair)], symbols[Left(y.Pair)]);
            return left != 0 ? left : string.CompareOrdinal(this.symbols[Right(x.Pair)], this.symbols[Right(y.Pair)]);
        }

        private static long Key(int left, int right) => (long)left << 32 | (uint)right;

        private static int Left(long pair) => (int)(pair >> 32);

        private static int Right(long pair) => (int)pair;
    }
}
