namespace Molyneux.Captioning;

/// <summary>CIDEr-D of a corpus (the mean) and of each image.</summary>
public sealed record CiderResult(double Corpus, IReadOnlyList<double> PerCaption);

/// <summary>
/// CIDEr-D as the COCO caption evaluation computes it and reports it as "CIDEr" (pycocoevalcap <c>cider/cider.py</c>
/// and <c>cider/cider_scorer.py</c>, Vedantam et al. 2015 with its "D" changes): for n = 1…4 each caption is a vector
/// of n-gram weights tf × idf, where tf is the raw count and idf = ln(number of images) − ln(max(1, df)) with df the
/// number of images whose references contain the n-gram — document frequencies over the reference set of the corpus
/// being scored, not a fixed one. Against each reference, the order-n similarity is
/// Σ min(candidate weight, reference weight) × reference weight / (‖candidate‖ ‖reference‖) (the clipping), times
/// the Gaussian length penalty exp(−δ² / (2σ²)), σ = 6; an image's score is 10 × the mean over n of the similarity
/// averaged over its references, and the corpus score is the mean over images.
/// Reproduced quirks of the reference: δ is the difference of the two captions' BIGRAM counts (its "length" adds
/// up order-2 counts), max(0, words − 1), which equals the word-count difference unless one caption is empty — and
/// then the similarity is 0 anyway; a norm of 0 leaves the similarity unnormalised (it is then 0 too); and a corpus
/// of ONE image scores 0, because every idf is ln(1) − ln(1) = 0.
/// </summary>
public static class CiderScore
{
    public const int MaxOrder = 4;

    /// <summary>The standard deviation of the length penalty, in words.</summary>
    public const double Sigma = 6.0;

    /// <summary>Scores tokenized captions; refuses an empty corpus, an image without references, or references that
    /// are all empty.</summary>
    public static CiderResult Score(IReadOnlyList<TokenizedCaption> corpus)
    {
        TokenizedCaption.Validate(corpus, "CIDEr-D");
        var candidateCounts = corpus.Select(image => NGrams.Count(image.Candidate, MaxOrder)).ToList();
        var referenceCounts = corpus.Select(image => image.References.Select(reference => NGrams.Count(reference, MaxOrder)).ToList()).ToList();

        var documentFrequency = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var references in referenceCounts)
            foreach (var ngram in references.SelectMany(counts => counts.SelectMany(ofOrder => ofOrder.Keys)).Distinct())
                documentFrequency[ngram] = documentFrequency.GetValueOrDefault(ngram) + 1;
        // The reference fails on this (max() of no document frequencies); there is nothing to weigh the candidates by.
        if (documentFrequency.Count == 0)
            throw new DatasetException("CIDEr-D: every reference caption is empty after tokenization");
        var logImageCount = Math.Log(corpus.Count);

        var perCaption = new double[corpus.Count];
        for (var i = 0; i < corpus.Count; i++)
        {
            var candidate = Weigh(candidateCounts[i], documentFrequency, logImageCount);
            var similarity = new double[MaxOrder];
            foreach (var reference in referenceCounts[i].Select(counts => Weigh(counts, documentFrequency, logImageCount)))
                for (var k = 0; k < MaxOrder; k++)
                    similarity[k] += Similarity(candidate, reference, k);
            // In the reference's order of operations: mean over n, divided by the reference count, times 10.
            perCaption[i] = similarity.Average() / referenceCounts[i].Count * 10.0;
        }
        return new CiderResult(perCaption.Average(), perCaption);
    }

    /// <summary>A caption's tf-idf weights per order, their norms, and its length as the reference measures it
    /// (the number of bigrams).</summary>
    private sealed record WeightedCaption(Dictionary<string, double>[] Weights, double[] Norms, int Length);

    private static WeightedCaption Weigh(Dictionary<string, int>[] counts, Dictionary<string, int> documentFrequency, double logImageCount)
    {
        var weights = new Dictionary<string, double>[MaxOrder];
        var norms = new double[MaxOrder];
        for (var k = 0; k < MaxOrder; k++)
        {
            weights[k] = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var (ngram, count) in counts[k])
            {
                // An n-gram no reference has counts as df = 1, so it gets the largest idf, ln(number of images).
                var weight = count * (logImageCount - Math.Log(Math.Max(1, documentFrequency.GetValueOrDefault(ngram))));
                weights[k][ngram] = weight;
                norms[k] += weight * weight;
            }
            norms[k] = Math.Sqrt(norms[k]);
        }
        return new WeightedCaption(weights, norms, counts[1].Values.Sum());
    }

    private static double Similarity(WeightedCaption candidate, WeightedCaption reference, int k)
    {
        var value = 0.0;
        foreach (var (ngram, weight) in candidate.Weights[k])
        {
            var referenceWeight = reference.Weights[k].GetValueOrDefault(ngram);
            value += Math.Min(weight, referenceWeight) * referenceWeight;
        }
        if (candidate.Norms[k] != 0 && reference.Norms[k] != 0)
            value /= candidate.Norms[k] * reference.Norms[k];
        double delta = candidate.Length - reference.Length;
        return value * Math.Exp(-(delta * delta) / (2 * Sigma * Sigma));
    }
}
