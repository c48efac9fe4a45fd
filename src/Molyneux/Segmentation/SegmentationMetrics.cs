namespace Molyneux.Segmentation;

/// <summary>The three scores MedCLIP-SAMv2 reports for one image.</summary>
public sealed record SegmentationScores(double Dice, double IoU, double Nsd);

/// <summary>
/// Overlap and boundary agreement of a predicted mask with a ground-truth mask.
/// <para>Empty masks: both empty scores 1 on all three metrics (nothing to find, nothing found); exactly one empty
/// scores 0. MedCLIP-SAMv2's <c>evaluation/eval.py</c> gives the same 0 and cannot score two empty masks at all (it
/// asserts a label exists). Masks of different sizes are refused, with both sizes (and files, when the masks were
/// read from files) in the message; resizing one to the other is the caller's decision.</para>
/// </summary>
public static class SegmentationMetrics
{
    /// <summary>The tolerance MedCLIP-SAMv2 scores NSD at, in pixels.</summary>
    public const double PaperNsdTolerance = 2;

    public static SegmentationScores Score(BinaryMask prediction, BinaryMask truth, double tolerancePixels = PaperNsdTolerance) =>
        new(Dice(prediction, truth), IoU(prediction, truth), NormalizedSurfaceDice(prediction, truth, tolerancePixels));

    /// <summary>Sørensen–Dice: 2 |P ∩ T| / (|P| + |T|).</summary>
    public static double Dice(BinaryMask prediction, BinaryMask truth)
    {
        var (intersection, predicted, actual) = Overlap(prediction, truth);
        return predicted + actual == 0 ? 1 : 2.0 * intersection / (predicted + actual);
    }

    /// <summary>Jaccard: |P ∩ T| / |P ∪ T|.</summary>
    public static double IoU(BinaryMask prediction, BinaryMask truth)
    {
        var (intersection, predicted, actual) = Overlap(prediction, truth);
        var union = predicted + actual - intersection;
        return union == 0 ? 1 : (double)intersection / union;
    }

    /// <summary>
    /// Normalised surface Dice at a tolerance of <paramref name="tolerancePixels"/> (Nikolov et al. 2021), computed as
    /// the reference implementation (google-deepmind/surface-distance, <c>compute_surface_distances</c> and
    /// <c>compute_surface_dice_at_tolerance</c>) computes it for 2-D masks with unit spacing. The contour lives on the
    /// grid of pixel corners: a corner is on a mask's contour when the 2×2 pixels around it are neither all inside nor
    /// all outside, and it carries the length of the marching-squares contour piece through its cell (√2/2 for one or
    /// three pixels inside, 1 for two side by side, √2 for two diagonal). Each contour corner of one mask gets its
    /// exact Euclidean distance to the nearest contour corner of the other (a distance transform of the other's
    /// contour); NSD is the contour length within the tolerance (distance ≤ τ), both ways, over the total length of
    /// both contours.
    /// <para>MedCLIP-SAMv2 scored NSD at τ = 2 with MedSAM's copy of that code, passing each 2-D mask as a volume of one
    /// slice (<c>mask[..., None]</c>) to the 3-D path. With a single slice every 2×2×2 neighbourhood is half empty, so
    /// there every corner touching the object — interior ones too — counts as "surface", weighted by marching-cubes
    /// areas: a measure of region rather than boundary agreement. The numbers here are the 2-D reference's, which is
    /// what the metric means; they are not expected to equal the paper's.</para>
    /// </summary>
    public static double NormalizedSurfaceDice(BinaryMask prediction, BinaryMask truth, double tolerancePixels)
    {
        if (!(tolerancePixels >= 0))
            throw new ArgumentOutOfRangeException(nameof(tolerancePixels), $"NSD tolerance {tolerancePixels}: must be ≥ 0 pixels");
        var (_, predicted, actual) = Overlap(prediction, truth);
        if (predicted == 0 && actual == 0) return 1;
        if (predicted == 0 || actual == 0) return 0;

        var grid = CornerGrid.Around(prediction, truth);
        var predictionContour = grid.Contour(prediction);
        var truthContour = grid.Contour(truth);
        var toTruth = EuclideanDistanceTransform.SquaredDistances(truthContour.OnContour, grid.Width, grid.Height);
        var toPrediction = EuclideanDistanceTransform.SquaredDistances(predictionContour.OnContour, grid.Width, grid.Height);

        double within = 0, total = 0;
        for (var i = 0; i < grid.Width * grid.Height; i++)
        {
            if (truthContour.OnContour[i])
            {
                total += truthContour.Length[i];
                if (Math.Sqrt(toPrediction[i]) <= tolerancePixels) within += truthContour.Length[i];
            }
            if (predictionContour.OnContour[i])
            {
                total += predictionContour.Length[i];
                if (Math.Sqrt(toTruth[i]) <= tolerancePixels) within += predictionContour.Length[i];
            }
        }
        return within / total;
    }

    private static (int Intersection, int Predicted, int Actual) Overlap(BinaryMask prediction, BinaryMask truth)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(truth);
        if (prediction.Width != truth.Width || prediction.Height != truth.Height)
        {
            var message = $"the predicted mask is {prediction.Describe()} but the ground truth is {truth.Describe()}; " +
                          "masks must have the same size to be compared";
            if (prediction.Source is not null || truth.Source is not null) throw new DatasetException(message);
            throw new ArgumentException(message);
        }
        var p = prediction.Pixels;
        var t = truth.Pixels;
        int intersection = 0, predicted = 0, actual = 0;
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i]) predicted++;
            if (t[i]) actual++;
            if (p[i] && t[i]) intersection++;
        }
        return (intersection, predicted, actual);
    }

    /// <summary>The pixel corners around the bounding box of both masks (corners x0 … x1 + 1 by y0 … y1 + 1): every
    /// contour corner of either mask lies inside, so nearest-contour distances are the same as on the whole image.</summary>
    private sealed record CornerGrid(int Left, int Top, int Width, int Height)
    {
        /// <summary>Contour length of the marching-squares cell around a corner, by its neighbour code: 8 top-left,
        /// 4 top-right, 2 bottom-left, 1 bottom-right pixel inside (the reference's 2-D kernel).</summary>
        private static readonly double[] LengthByCode = BuildLengths();

        public static CornerGrid Around(BinaryMask a, BinaryMask b)
        {
            int left = int.MaxValue, top = int.MaxValue, right = -1, bottom = -1;
            foreach (var mask in new[] { a, b })
                for (var y = 0; y < mask.Height; y++)
                for (var x = 0; x < mask.Width; x++)
                    if (mask.Pixels[y * mask.Width + x])
                    {
                        (left, right) = (Math.Min(left, x), Math.Max(right, x));
                        (top, bottom) = (Math.Min(top, y), Math.Max(bottom, y));
                    }
            return new CornerGrid(left, top, right - left + 2, bottom - top + 2);
        }

        public (bool[] OnContour, double[] Length) Contour(BinaryMask mask)
        {
            var onContour = new bool[Width * Height];
            var length = new double[Width * Height];
            bool Inside(int x, int y) => (uint)x < (uint)mask.Width && (uint)y < (uint)mask.Height && mask.Pixels[y * mask.Width + x];
            for (var gy = 0; gy < Height; gy++)
            for (var gx = 0; gx < Width; gx++)
            {
                var (x, y) = (Left + gx, Top + gy);
                var code = (Inside(x - 1, y - 1) ? 8 : 0) | (Inside(x, y - 1) ? 4 : 0) |
                           (Inside(x - 1, y) ? 2 : 0) | (Inside(x, y) ? 1 : 0);
                if (code is 0 or 15) continue;
                onContour[gy * Width + gx] = true;
                length[gy * Width + gx] = LengthByCode[code];
            }
            return (onContour, length);
        }

        private static double[] BuildLengths()
        {
            var halfDiagonal = Math.Sqrt(2) / 2;
            var lengths = new double[16];
            foreach (var corner in new[] { 1, 2, 4, 8, 7, 11, 13, 14 }) lengths[corner] = halfDiagonal;
            foreach (var side in new[] { 3, 12, 5, 10 }) lengths[side] = 1;
            lengths[6] = lengths[9] = 2 * halfDiagonal;
            return lengths;
        }
    }
}
