using System.Text.Json;
using System.Text.Json.Serialization;
using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Runtime;

namespace Molyneux.Captioning;

/// <summary>One image of a captioning evaluation: its path relative to the captions file, the caption generated for
/// it and its reference captions.</summary>
public sealed record EvaluatedCaption(
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("generated")] string Generated,
    [property: JsonPropertyName("references")] IReadOnlyList<string> References);

/// <summary>A captioning evaluation's corpus scores: BLEU-1…4 and CIDEr-D as pycocoevalcap reports them, and the mean
/// CLIP-S (<see cref="ClipScore.Scaled"/>) when a dual encoder scored the captions, null otherwise.</summary>
public sealed record CaptionEvaluationMetrics(
    [property: JsonPropertyName("bleu_1")] double Bleu1,
    [property: JsonPropertyName("bleu_2")] double Bleu2,
    [property: JsonPropertyName("bleu_3")] double Bleu3,
    [property: JsonPropertyName("bleu_4")] double Bleu4,
    [property: JsonPropertyName("cider_d")] double CiderD,
    [property: JsonPropertyName("clip_score")] double? ClipScore);

public sealed record CaptionEvaluationReport(
    [property: JsonPropertyName("metrics")] CaptionEvaluationMetrics Metrics,
    [property: JsonPropertyName("captions")] IReadOnlyList<EvaluatedCaption> Captions,
    [property: JsonPropertyName("environment")] RunEnvironment? Environment = null)
{
    /// <summary>The file <see cref="SaveTo"/> writes in a report folder.</summary>
    public const string FileName = "caption_eval.json";

    /// <summary>What makes a score meaningless rather than low: CIDEr-D's IDF over one image is log 1 = 0.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> Warnings =>
        Captions.Count == 1 ? ["the captions file lists a single image, so CIDEr-D is 0 whatever the caption (its IDF over one image is log 1 = 0)"] : [];

    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Writes the JSON to <paramref name="folder"/>/<see cref="FileName"/> atomically; returns its path.</summary>
    public string SaveTo(string folder)
    {
        var path = Path.Combine(folder, FileName);
        AtomicFile.WriteAllText(path, ToJson());
        return path;
    }
}

/// <summary>Evaluates a captioner on a captions file (the JSON Lines <see cref="CaptionsDataset"/> that retrieval
/// reads): one caption generated per image, scored against the image's captions as references by
/// <see cref="CaptionMetrics.Compute"/>, and optionally by CLIP-score under any dual encoder.</summary>
public static class CaptionEvaluation
{
    /// <param name="progress">hears the images captioned so far (generation is the slow part)</param>
    /// <param name="captioner">The CoCa model that writes the captions, with its preprocessing.</param>
    /// <param name="dataset">The images and their reference captions the generated ones are scored against.</param>
    /// <param name="options">How captions are generated (greedy or beam, lengths, repetition penalty).</param>
    /// <param name="clipModel">A CLIP to score each caption against its image (CLIPScore); null: no CLIPScore.</param>
    public static CaptionEvaluationReport Evaluate(Captioner captioner, CaptionsDataset dataset, CaptionOptions options, IVisionLanguageModel? clipModel = null,
        IProgress<int>? progress = null)
    {
        var paths = dataset.Images.Select(image => image.ImagePath).ToList();
        var generated = captioner.CaptionFiles(paths, options, progress).Select(caption => caption.Text).ToList();
        var scores = CaptionMetrics.Compute([.. generated.Zip(dataset.Images, (text, image) => new GeneratedCaption(text, image.Captions))]);
        double? clipScore = clipModel is null ? null : ClipScore.Cosines(clipModel, paths, generated).Average(cosine => ClipScore.Scaled(cosine));
        var bleu = scores.Bleu.Corpus;
        var metrics = new CaptionEvaluationMetrics(bleu[0], bleu[1], bleu[2], bleu[3], scores.CiderD.Corpus, clipScore);
        var root = Path.GetDirectoryName(dataset.Location)!;
        var captions = dataset.Images.Zip(generated, (image, text) => new EvaluatedCaption(Path.GetRelativePath(root, image.ImagePath), text, image.Captions)).ToList();
        return new CaptionEvaluationReport(metrics, captions, RunEnvironment.Capture(new ComputeDevice(captioner.Model.Device, captioner.Model.logit_scale.dtype)));
    }
}
