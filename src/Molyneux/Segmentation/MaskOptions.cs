namespace Molyneux.Segmentation;

/// <summary>How a saliency map becomes a foreground mask (see <see cref="SaliencyThreshold"/>).</summary>
public enum MaskMethod
{
    /// <summary>Otsu's threshold (skimage's threshold_otsu).</summary>
    Otsu,

    /// <summary>Everything above the <see cref="MaskOptions.Quantile"/>-quantile.</summary>
    Quantile,

    /// <summary>The highest of <see cref="MaskOptions.Clusters"/> k-means clusters: MedCLIP-SAMv2's default.</summary>
    KMeans,

    /// <summary>Everything above <see cref="MaskOptions.Threshold"/> on the map scaled to [0, 1]: MedCLIP-SAMv2's
    /// "thresholding" post-processing (0.3 there).</summary>
    Fixed,
}

/// <summary>Which connected components of the thresholded map are kept.</summary>
public enum ComponentSelection
{
    /// <summary>The largest (ties all kept): MedCLIP-SAMv2's default of one contour.</summary>
    Largest,

    /// <summary>Every component of at least <see cref="MaskOptions.MinimumPixels"/> pixels.</summary>
    AllAboveSize,
}

/// <summary>Settings of <see cref="SaliencyToMask.Apply"/>; the defaults are MedCLIP-SAMv2's post-processing
/// defaults (k-means with 2 clusters, the largest 8-connected component).</summary>
public sealed record MaskOptions
{
    public MaskMethod Method { get; init; } = MaskMethod.KMeans;

    /// <summary>For <see cref="MaskMethod.Quantile"/>: keeps about the top 1 − q of the pixels.</summary>
    public double Quantile { get; init; } = 0.9;

    /// <summary>For <see cref="MaskMethod.Fixed"/>: the level on the min–max normalised map; the authors' 0.3.</summary>
    public double Threshold { get; init; } = 0.3;

    /// <summary>For <see cref="MaskMethod.KMeans"/>.</summary>
    public int Clusters { get; init; } = 2;

    public ComponentSelection Components { get; init; } = ComponentSelection.Largest;

    /// <summary>Components smaller than this are dropped first, whatever <see cref="Components"/> says (so a largest
    /// component below it leaves the mask empty). The authors declare such a filter (<c>--filter --min-size 100</c>)
    /// but never apply it; 0 keeps everything, as they do.</summary>
    public int MinimumPixels { get; init; }

    public Connectivity Connectivity { get; init; } = Connectivity.Eight;

    internal void Validate()
    {
        if (!Enum.IsDefined(Method)) throw new OptionException($"mask method {(int)Method}: not one of {string.Join(", ", Enum.GetNames<MaskMethod>())}");
        if (!Enum.IsDefined(Components)) throw new OptionException($"component selection {(int)Components}: not one of {string.Join(", ", Enum.GetNames<ComponentSelection>())}");
        if (Method == MaskMethod.Quantile && !(Quantile > 0 && Quantile < 1))
            throw new OptionException($"mask quantile {Quantile}: must lie strictly between 0 and 1");
        if (Method == MaskMethod.Fixed && !(Threshold >= 0 && Threshold < 1))
            throw new OptionException($"mask threshold {Threshold}: must lie in [0, 1) (the map is scaled to [0, 1])");
        if (Method == MaskMethod.KMeans && Clusters < 2)
            throw new OptionException($"k-means clusters {Clusters}: must be at least 2");
        if (MinimumPixels < 0) throw new OptionException($"minimum component size {MinimumPixels}: must be ≥ 0 pixels");
        if (Connectivity is not (Connectivity.Four or Connectivity.Eight))
            throw new OptionException($"connectivity {(int)Connectivity}: must be 4 or 8");
    }
}
