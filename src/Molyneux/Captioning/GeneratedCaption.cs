namespace Molyneux.Captioning;

/// <summary>One image's generated caption (the candidate) and its human reference captions, as raw text.</summary>
public sealed record GeneratedCaption(string Candidate, IReadOnlyList<string> References);

/// <summary>One image's candidate and references as token lists: what BLEU and CIDEr-D score. pycocoevalcap's
/// scorers take space-joined tokenized strings and split them on whitespace; a token list is the same thing.</summary>
public sealed record TokenizedCaption(IReadOnlyList<string> Candidate, IReadOnlyList<IReadOnlyList<string>> References)
{
    /// <summary>Normalises the captions with <see cref="CaptionTokenizer"/>, as pycocoevalcap's evaluation does
    /// before scoring.</summary>
    public static TokenizedCaption From(GeneratedCaption caption) =>
        new(CaptionTokenizer.Tokenize(caption.Candidate), caption.References.Select(CaptionTokenizer.Tokenize).ToList());

    /// <summary>Refuses what pycocoevalcap's scorers assert against: an empty corpus, an image without
    /// references.</summary>
    internal static void Validate(IReadOnlyList<TokenizedCaption> corpus, string metric)
    {
        if (corpus.Count == 0)
            throw new DatasetException($"{metric}: no captions to score (the corpus has no images)");
        for (var i = 0; i < corpus.Count; i++)
            if (corpus[i].References.Count == 0)
                throw new DatasetException($"{metric}: image {i} has no reference captions; every image needs at least one");
    }
}

/// <summary>N-gram counts of a token sequence for orders 1…maxOrder, as both scorers' <c>precook</c> builds them.
/// An n-gram is keyed by its tokens joined with spaces, which is unambiguous because tokens hold no whitespace.</summary>
internal static class NGrams
{
    /// <summary>counts[n - 1][ngram] = occurrences of each n-gram of order n.</summary>
    public static Dictionary<string, int>[] Count(IReadOnlyList<string> tokens, int maxOrder)
    {
        var counts = new Dictionary<string, int>[maxOrder];
        for (var order = 1; order <= maxOrder; order++)
        {
            var ofOrder = counts[order - 1] = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var start = 0; start + order <= tokens.Count; start++)
            {
                var ngram = string.Join(' ', tokens.Skip(start).Take(order));
                ofOrder[ngram] = ofOrder.GetValueOrDefault(ngram) + 1;
            }
        }
        return counts;
    }
}
