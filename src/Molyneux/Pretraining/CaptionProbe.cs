using Molyneux.Captioning;
using Molyneux.Modeling;
using Molyneux.Worlds;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>What a <see cref="CaptionProbe"/> measured: corpus CIDEr-D and BLEU-4 of the greedy captions, and the first
/// few captions beside their references, to read.</summary>
public sealed record CaptionProbeResult(double CiderD, double Bleu4, IReadOnlyList<GeneratedCaption> Samples);

/// <summary>Held-out images with their reference captions, captioned greedily along a captioner's pretraining: images
/// [N,3,S,S] in [0,1] and several references each (CIDEr-D's consensus needs more than one). <paramref name="FinalOnly"/>:
/// a test set, measured once when training ends and never along the curve, so that nothing about the run is chosen
/// by looking at it.</summary>
public sealed record CaptionProbe(string Name, Tensor Images, IReadOnlyList<IReadOnlyList<string>> References, bool FinalOnly = false)
{
    /// <summary>Captions shown in training.json's final samples.</summary>
    public const int SampleCount = 8;

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
        return new CaptionProbeResult(scores.CiderD.Corpus, scores.Bleu.Corpus[3], corpus.Take(SampleCount).ToList());
    }

    /// <summary>Names image <paramref name="index"/> of the probe, as its captions and samples name it.</summary>
    public string SourceOf(int index) => $"{Name}[{index}]";

    /// <summary><paramref name="count"/> scenes of the stream <paramref name="seed"/> of <paramref name="world"/>, each with
    /// <paramref name="references"/> reference captions (<see cref="ShapesSample.References"/>).</summary>
    public static CaptionProbe Shapes(string name, ShapesWorld world, int count, int seed, int references = 5, bool finalOnly = false)
    {
        var samples = world.Generate(count, seed);
        // Made on first use, perhaps inside a training step's dispose scope; the probe outlives it.
        return new CaptionProbe(name, ShapesSample.Stack(samples).DetachFromDisposeScope(), samples.Select(sample => sample.References(references)).ToList(), finalOnly);
    }
}
