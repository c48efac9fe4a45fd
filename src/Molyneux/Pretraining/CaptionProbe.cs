using Molyneux.Captioning;
using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>What a <see cref="CaptionProbe"/> measured: corpus CIDEr-D and BLEU-4 of the greedy captions, the first
/// few captions beside their references, to read, and, for a probe that can tell (<see cref="CaptionProbe.IsRight"/>),
/// the share of captions that say the right thing.</summary>
public sealed record CaptionProbeResult(double CiderD, double Bleu4, IReadOnlyList<GeneratedCaption> Samples, double? Accuracy = null);

/// <summary>Held-out images with their reference captions, captioned greedily along a captioner's pretraining: images
/// [N,3,S,S] in [0,1] and several references each (CIDEr-D's consensus needs more than one). <paramref name="FinalOnly"/>:
/// a test set, measured once when training ends and never along the curve, so that nothing about the run is chosen
/// by looking at it.</summary>
public sealed record CaptionProbe(string Name, Tensor Images, IReadOnlyList<IReadOnlyList<string>> References, bool FinalOnly = false)
{
    /// <summary>Captions shown in training.json's final samples.</summary>
    public const int SampleCount = 8;

    /// <summary>Whether the caption of image i says the right thing (the emoji world: the drawing's label comes first),
    /// for data where that is a yes or no that CIDEr-D's overlap does not show; null when the probe has no such check.</summary>
    public Func<int, string, bool>? IsRight { get; init; }

    public CaptionProbeResult Evaluate(Captioner captioner)
    {
        var model = captioner.Model;
        using var mode = new EvaluationMode(model);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var pixels = captioner.ImageProcessor.Normalize(Images.to(ScalarType.Float32)).to(model.Device);
        var sources = Enumerable.Range(0, References.Count).Select(SourceOf).ToList();
        var captions = captioner.CaptionPixels(pixels, sources, captioner.Greedy);
        var corpus = captions.Select((caption, i) => new GeneratedCaption(caption.Text, References[i])).ToList();
        var scores = CaptionMetrics.Compute(corpus);
        var accuracy = IsRight is { } isRight ? captions.Where((caption, i) => isRight(i, caption.Text)).Count() / (double)captions.Count : (double?)null;
        return new CaptionProbeResult(scores.CiderD.Corpus, scores.Bleu.Corpus[3], corpus.Take(SampleCount).ToList(), accuracy);
    }

    /// <summary>Names image <paramref name="index"/> of the probe, as its captions and samples name it.</summary>
    public string SourceOf(int index) => $"{Name}[{index}]";
}
