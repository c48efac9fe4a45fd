namespace Molyneux.Captioning;

/// <summary>BLEU-1…4 of a corpus and of each caption: <see cref="Corpus"/>[n - 1] is BLEU-n; <see cref="PerCaption"/>[i][n - 1]
/// is BLEU-n of image i alone (pycocoevalcap returns the same numbers indexed the other way round, [n - 1][i]).</summary>
public sealed record BleuResult(IReadOnlyList<double> Corpus, IReadOnlyList<IReadOnlyList<double>> PerCaption);

/// <summary>What BLEU needs to know about one caption or, summed, about a corpus: the candidate's length, the
/// effective reference length, and per order n the candidate's n-gram count (guesses) and how many of those the
/// references support (clipped matches). pycocoevalcap's <c>cook_test</c> result and <c>totalcomps</c>.</summary>
public sealed record BleuStatistics(int CandidateLength, int ReferenceLength, IReadOnlyList<int> Guesses, IReadOnlyList<int> Matches)
{
    /// <summary>pycocoevalcap's guard against an empty denominator: a precision with no guesses is
    /// (0 + 1e-15) / (0 + 1e-9) = 1e-6 instead of 0 / 0.</summary>
    public const double Small = 1e-9;

    /// <summary>pycocoevalcap's numerator offset, so that a precision with no matches is tiny but not 0.</summary>
    public const double Tiny = 1e-15;

    public BleuStatistics Add(BleuStatistics other) => new(
        CandidateLength + other.CandidateLength,
        ReferenceLength + other.ReferenceLength,
        Guesses.Zip(other.Guesses, (a, b) => a + b).ToList(),
        Matches.Zip(other.Matches, (a, b) => a + b).ToList());

    /// <summary>BLEU-1…N as <c>BleuScorer.compute_score</c> computes them from these statistics, both per caption
    /// and for the corpus totals: BLEU-n = (∏ₖ≤ₙ (matchesₖ + tiny) / (guessesₖ + small))^(1/n), times the brevity
    /// penalty exp(1 − 1/ratio) when ratio = (candidate length + tiny) / (reference length + small) is below 1.</summary>
    public IReadOnlyList<double> Scores()
    {
        var scores = new double[Guesses.Count];
        var product = 1.0;
        for (var k = 0; k < scores.Length; k++)
        {
            product *= (Matches[k] + Tiny) / (Guesses[k] + Small);
            scores[k] = Math.Pow(product, 1.0 / (k + 1));
        }
        var ratio = (CandidateLength + Tiny) / (ReferenceLength + Small);
        if (ratio < 1)
            for (var k = 0; k < scores.Length; k++)
                scores[k] *= Math.Exp(1 - 1 / ratio);
        return scores;
    }
}

/// <summary>BLEU as the COCO caption evaluation computes it (pycocoevalcap <c>bleu/bleu.py</c> and
/// <c>bleu/bleu_scorer.py</c>, option "closest"): the corpus score from n-gram matches and lengths summed over all
/// images (not an average of per-image scores), with its tiny/small smoothing constants and a brevity penalty on
/// the corpus totals.</summary>
public static class BleuScore
{
    public const int MaxOrder = 4;

    /// <summary>Scores tokenized captions; refuses an empty corpus or an image without references.</summary>
    public static BleuResult Score(IReadOnlyList<TokenizedCaption> corpus)
    {
        TokenizedCaption.Validate(corpus, "BLEU");
        var perCaption = corpus.Select(Statistics).ToList();
        var totals = perCaption.Aggregate((sum, next) => sum.Add(next));
        return new BleuResult(totals.Scores(), perCaption.Select(statistics => statistics.Scores()).ToList());
    }

    /// <summary>One image's statistics (<c>cook_refs</c> + <c>cook_test</c>): each candidate n-gram matches at most
    /// as often as it occurs in the one reference that has it most; the effective reference length is the
    /// reference length closest to the candidate's, the shorter one on a tie.</summary>
    public static BleuStatistics Statistics(TokenizedCaption image)
    {
        var candidateLength = image.Candidate.Count;
        var referenceLength = image.References
            .Select(reference => reference.Count)
            .OrderBy(length => Math.Abs(length - candidateLength))
            .ThenBy(length => length)
            .First();

        var maxReferenceCounts = new Dictionary<string, int>[MaxOrder];
        for (var k = 0; k < MaxOrder; k++) maxReferenceCounts[k] = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var reference in image.References)
        {
            var counts = NGrams.Count(reference, MaxOrder);
            for (var k = 0; k < MaxOrder; k++)
                foreach (var (ngram, count) in counts[k])
                    maxReferenceCounts[k][ngram] = Math.Max(maxReferenceCounts[k].GetValueOrDefault(ngram), count);
        }

        var candidateCounts = NGrams.Count(image.Candidate, MaxOrder);
        var guesses = Enumerable.Range(1, MaxOrder).Select(order => Math.Max(0, candidateLength - order + 1)).ToList();
        var matches = Enumerable.Range(0, MaxOrder)
            .Select(k => candidateCounts[k].Sum(entry => Math.Min(entry.Value, maxReferenceCounts[k].GetValueOrDefault(entry.Key))))
            .ToList();
        return new BleuStatistics(candidateLength, referenceLength, guesses, matches);
    }
}
