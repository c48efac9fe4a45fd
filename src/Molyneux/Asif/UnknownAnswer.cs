namespace Molyneux.Asif;

/// <summary>How a classifier that may answer "unknown" did: fractions of all images, adding up to 1.</summary>
public sealed record SelectiveOutcome(double Accuracy, double Unknown, double Wrong);

/// <summary>Answering "unknown" when the best class's score is below a threshold, and choosing that threshold on
/// held-out labelled images: the lowest one at which at most a given fraction of the answered images are wrong, so
/// the classifier answers as often as it can while keeping its answers that reliable.</summary>
public static class UnknownAnswer
{
    /// <param name="bestScores">Each calibration image's best class score.</param>
    /// <param name="correct">Whether that best class is the image's.</param>
    /// <param name="maxWrong">Allowed fraction of wrong answers among the answered images, in [0, 1).</param>
    /// <returns>The threshold; an image is answered when its best score is at least this. When no threshold meets
    /// the target, one just above the highest score, so that everything is unknown.</returns>
    public static double Calibrate(IReadOnlyList<float> bestScores, IReadOnlyList<bool> correct, double maxWrong)
    {
        if (bestScores.Count != correct.Count || bestScores.Count == 0)
            throw new ArgumentException($"need as many calibration scores as outcomes, at least one (got {bestScores.Count} and {correct.Count})");
        if (!(maxWrong >= 0 && maxWrong < 1)) throw new OptionException($"--max-wrong: must be in [0, 1), got {maxWrong}");
        // Lowering the threshold past each score in turn answers one more image; keep the lowest that meets the
        // target, answering the whole group of tied scores together.
        var order = Enumerable.Range(0, bestScores.Count).OrderByDescending(i => bestScores[i]).ToArray();
        var threshold = Math.BitIncrement((double)bestScores[order[0]]);
        var wrong = 0;
        for (var answered = 1; answered <= order.Length; answered++)
        {
            if (!correct[order[answered - 1]]) wrong++;
            var tiedWithNext = answered < order.Length && bestScores[order[answered]] == bestScores[order[answered - 1]];
            if (!tiedWithNext && wrong <= maxWrong * answered) threshold = bestScores[order[answered - 1]];
        }
        return threshold;
    }

    public static SelectiveOutcome Measure(double threshold, IReadOnlyList<float> bestScores, IReadOnlyList<bool> correct)
    {
        if (bestScores.Count != correct.Count || bestScores.Count == 0)
            throw new ArgumentException($"need as many scores as outcomes, at least one (got {bestScores.Count} and {correct.Count})");
        var (right, unknown, wrong) = (0, 0, 0);
        for (var i = 0; i < bestScores.Count; i++)
        {
            if (bestScores[i] < threshold) unknown++;
            else if (correct[i]) right++;
            else wrong++;
        }
        double count = bestScores.Count;
        return new SelectiveOutcome(right / count, unknown / count, wrong / count);
    }
}
