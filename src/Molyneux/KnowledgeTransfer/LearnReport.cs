using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Molyneux.Imaging;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

public sealed record AccuracyBlock(double NameTop1, double DescriptionTop1, double NameTop1AllClasses)
{
    public static AccuracyBlock Of(ConceptAccuracy accuracy) => new(accuracy.NameTop1, accuracy.DescriptionTop1, accuracy.NameTop1AllClasses);
}

public sealed record ConceptReport(string Name, IReadOnlyList<string> Descriptions, IReadOnlyList<string> InvertedImages,
    IReadOnlyList<string> RealImages, AccuracyBlock Before, AccuracyBlock After, AccuracyBlock? NoiseControl);

public sealed record ReferenceReport(int Classes, int Images, double BeforeTop1, double AfterTop1, double? NoiseControlTop1);

public sealed record TrialReport(string Train, double LearningRate, double TargetGain, double Forgetting, bool WithinBound, bool Chosen);

/// <summary>What <c>molyneux learn --report DIR</c> writes: report.json (schema in docs/knowledge-transfer-report.md)
/// and a self-contained report.html, with the inverted and sample real images beside them.</summary>
public sealed record LearnReport(
    int SchemaVersion,
    DateTime CreatedUtc,
    string? ModelPath,
    string ModelIdentity,
    string? OutputModelPath,
    IReadOnlyDictionary<string, object?> Options,
    IReadOnlyList<ConceptReport> Concepts,
    ReferenceReport Reference,
    IReadOnlyList<TrialReport> Trials,
    IReadOnlyList<double> InversionLoss,
    IReadOnlyList<double> FineTuneLoss)
{
    public const int CurrentSchemaVersion = 1;
    private const int RealImagesShown = 4;

    public static JsonSerializerOptions JsonOptions => SnakeCaseJson.Record;

    /// <summary>Builds the report and writes its images into <paramref name="folder"/> (which the caller creates
    /// atomically).</summary>
    public static LearnReport Create(string folder, LearnResult result, IReadOnlyList<TeachableConcept> concepts, ReferenceClasses reference,
        int imagesPerConcept, string? modelPath, string modelIdentity, string? outputModelPath, IReadOnlyDictionary<string, object?> options)
    {
        result.Inversion.SaveImages(folder, imagesPerConcept);
        var conceptReports = concepts.Select((concept, c) =>
        {
            var real = new List<string>();
            for (var i = 0; i < Math.Min(RealImagesShown, concept.RealImages.shape[0]); i++)
            {
                var file = $"real_concept{c:D3}_image{i:D3}.png";
                ImageDecoder.SavePng(Path.Combine(folder, file), concept.RealImages[i]);
                real.Add(file);
            }
            var inverted = Enumerable.Range(0, imagesPerConcept).Select(i => InversionResult.ImageFileName(c, i)).ToList();
            return new ConceptReport(concept.Name, concept.Descriptions, inverted, real,
                AccuracyBlock.Of(result.Before.Concepts[c]), AccuracyBlock.Of(result.Chosen.After.Concepts[c]),
                result.NoiseControl is { } noise ? AccuracyBlock.Of(noise.Concepts[c]) : null);
        }).ToList();
        var trials = result.Trials.Select(t => new TrialReport(t.Train.ToString().ToLowerInvariant(), t.LearningRate, t.TargetGain,
            t.Forgetting, t.WithinBound, ReferenceEquals(t, result.Chosen))).ToList();
        return new LearnReport(CurrentSchemaVersion, DateTime.UtcNow, modelPath, modelIdentity, outputModelPath, options, conceptReports,
            new ReferenceReport(reference.Names.Count, reference.Labels.Count, result.Before.ReferenceTop1, result.Chosen.After.ReferenceTop1,
                result.NoiseControl?.ReferenceTop1),
            trials, result.Inversion.LossCurve.Select(point => point.Loss).ToList(), result.Chosen.Losses);
    }

    public void Save(string folder)
    {
        AtomicFile.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(this, JsonOptions) + "\n");
        AtomicFile.WriteAllText(Path.Combine(folder, "report.html"), Html(folder));
        AtomicFile.WriteAllText(Path.Combine(folder, "summary.md"), SummaryMarkdown());
    }

    /// <summary>The headline as a Markdown table (summary.md): mean name and description top-1 over the concepts
    /// and the reference top-1, before, after and for the noise control. The README's demo table is this file as
    /// the demo wrote it.</summary>
    public string SummaryMarkdown()
    {
        static string Percent(double value) => $"{100 * value:F1} %";
        string Row(string label, Func<ConceptReport, AccuracyBlock?> block, double? reference) =>
            $"| {label} | {Percent(Concepts.Average(c => block(c)!.NameTop1))} | {Percent(Concepts.Average(c => block(c)!.DescriptionTop1))} | " +
            $"{(reference is { } top1 ? Percent(top1) : "")} |";
        var chosen = Trials.FirstOrDefault(trial => trial.Chosen);
        var rows = new List<string>
        {
            $"| {Concepts.Count} concepts | name top-1 | description top-1 | reference top-1 ({Reference.Classes} classes) |",
            "|---|---:|---:|---:|",
            Row("before", c => c.Before, Reference.BeforeTop1),
            Row(chosen is null ? "after" : $"after (`--train {chosen.Train}`, lr {chosen.LearningRate:0.###e-0})", c => c.After, Reference.AfterTop1),
        };
        if (Concepts.All(c => c.NoiseControl is not null)) rows.Add(Row("noise control", c => c.NoiseControl, Reference.NoiseControlTop1));
        return string.Join("\n", rows) + "\n";
    }

    /// <summary>One page with everything inline (images as data URIs), so it can be mailed or archived alone.</summary>
    private string Html(string folder)
    {
        string Image(string file) => $"<img src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(Path.Combine(folder, file)))}\" alt=\"{WebUtility.HtmlEncode(file)}\">";
        static string Bar(string label, double value, string color) =>
            $"<div class=bar><span>{label}</span><i style=\"width:{100 * value:F1}%;background:{color}\"></i><b>{100 * value:F1}%</b></div>";
        static string Curve(IReadOnlyList<double> values, string title)
        {
            if (values.Count < 2) return "";
            var (min, max) = (values.Min(), values.Max());
            var points = string.Join(" ", values.Select((v, i) => $"{400.0 * i / (values.Count - 1):F1},{110 - 100 * (v - min) / Math.Max(max - min, 1e-12):F1}"));
            return $"<figure><svg viewBox=\"0 0 400 120\" width=400 height=120><polyline fill=none stroke=steelblue stroke-width=1.5 points=\"{points}\"/></svg>" +
                   $"<figcaption>{title}: {values[0]:G4} → {values[^1]:G4} ({values.Count} steps)</figcaption></figure>";
        }
        var html = new StringBuilder();
        html.Append("<!doctype html><html><head><meta charset=utf-8><title>Knowledge Transfer report</title><style>")
            .Append("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}img{width:64px;height:64px;image-rendering:pixelated;margin:1px;border:1px solid #ddd}")
            .Append(".bar{display:flex;align-items:center;gap:.5em;margin:2px 0}.bar span{width:14em}.bar i{display:inline-block;height:12px;max-width:20em}")
            .Append("section{border-top:1px solid #ccc;padding:1em 0}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}")
            .Append("</style></head><body>");
        html.Append($"<h1>Knowledge Transfer report</h1><p>Model: {WebUtility.HtmlEncode(ModelPath ?? "(in memory)")} (sha256 {ModelIdentity[..12]}…)")
            .Append(OutputModelPath is null ? "" : $" → {WebUtility.HtmlEncode(OutputModelPath)}").Append($", {CreatedUtc:u}</p>");
        html.Append("<h2>Forgetting</h2>")
            .Append(Bar("reference top-1 before", Reference.BeforeTop1, "#999")).Append(Bar("reference top-1 after", Reference.AfterTop1, "steelblue"));
        if (Reference.NoiseControlTop1 is { } noiseTop1) html.Append(Bar("after, noise control", noiseTop1, "#c96"));
        html.Append($"<p>{Reference.Classes} reference classes, {Reference.Images} images.</p>");
        foreach (var concept in Concepts)
        {
            html.Append($"<section><h2>{WebUtility.HtmlEncode(concept.Name)}</h2><p>{string.Join("<br>", concept.Descriptions.Select(WebUtility.HtmlEncode))}</p>")
                .Append("<p>Inverted: ").Append(string.Concat(concept.InvertedImages.Select(Image))).Append("</p>")
                .Append("<p>Real: ").Append(string.Concat(concept.RealImages.Select(Image))).Append("</p>")
                .Append(Bar("name prompt, before", concept.Before.NameTop1, "#999")).Append(Bar("name prompt, after", concept.After.NameTop1, "steelblue"))
                .Append(Bar("description prompt, before", concept.Before.DescriptionTop1, "#bbb")).Append(Bar("description prompt, after", concept.After.DescriptionTop1, "#6a9"))
                .Append(Bar("name, all classes, after", concept.After.NameTop1AllClasses, "#69c"));
            if (concept.NoiseControl is { } noise) html.Append(Bar("name prompt, noise control", noise.NameTop1, "#c96"));
            html.Append("</section>");
        }
        html.Append("<h2>Configurations tried</h2><table><tr><th>train</th><th>lr</th><th>gain</th><th>forgetting</th><th>within bound</th><th></th></tr>");
        foreach (var trial in Trials)
            html.Append($"<tr><td>{trial.Train}</td><td>{trial.LearningRate:G3}</td><td>{100 * trial.TargetGain:+0.0;-0.0} pts</td><td>{100 * trial.Forgetting:+0.0;-0.0} pts</td><td>{trial.WithinBound}</td><td>{(trial.Chosen ? "chosen" : "")}</td></tr>");
        html.Append("</table><h2>Loss curves</h2>").Append(Curve(InversionLoss, "inversion loss (mean over images)")).Append(Curve(FineTuneLoss, "fine-tuning loss"));
        html.Append("<h2>Options</h2><pre>").Append(WebUtility.HtmlEncode(JsonSerializer.Serialize(Options, JsonOptions))).Append("</pre></body></html>\n");
        return html.ToString();
    }
}
