namespace Molyneux.Captioning;

/// <summary>The n-gram caption metrics of one corpus, as the COCO caption evaluation reports them.</summary>
public sealed record CaptionMetricScores(BleuResult Bleu, CiderResult CiderD);

/// <summary>
/// The COCO caption evaluation (pycocoevalcap <c>eval.py</c>) without Java: every caption normalised by
/// <see cref="CaptionTokenizer"/>, then BLEU-1…4 (<see cref="BleuScore"/>) and CIDEr-D (<see cref="CiderScore"/>)
/// over the whole corpus. METEOR and SPICE are not computed: both are Java programs whose scores depend on
/// resources that cannot be reproduced faithfully here (METEOR 1.5's WordNet synonym and paraphrase-table matching
/// with its tuned parameters; SPICE's Stanford scene-graph parser). ROUGE-L is not part of this issue.
/// </summary>
public static class CaptionMetrics
{
    /// <summary>Refuses an empty corpus or an image without references.</summary>
    public static CaptionMetricScores Compute(IReadOnlyList<GeneratedCaption> corpus)
    {
        var tokenized = corpus.Select(TokenizedCaption.From).ToList();
        return new CaptionMetricScores(BleuScore.Score(tokenized), CiderScore.Score(tokenized));
    }
}
