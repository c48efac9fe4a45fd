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

/// <summary>A figure with its 95 % bootstrap interval over images.</summary>
public sealed record Estimate(double Value, double Low, double High)
{
    public static Estimate Of(double value, Evaluation.Interval interval) => new(value, interval.Low, interval.High);

    public string Points(bool signed = false) =>
        signed ? $"{Signed(100 * Value, 1)} [{Signed(100 * Low, 1)}, {Signed(100 * High, 1)}] points" : $"{100 * Value:F1} % [{100 * Low:F1}, {100 * High:F1}]";

    /// <summary>A score that is not a fraction (CIDEr-D): "1.93 [1.81, 2.05]".</summary>
    public string Score(bool signed = false) => signed ? $"{Signed(Value, 2)} [{Signed(Low, 2)}, {Signed(High, 2)}]" : $"{Value:F2} [{Low:F2}, {High:F2}]";

    /// <summary>"+1.5", "-0.3", and "+0.0" for what rounds to zero from either side (a format with a negative section
    /// would print a tiny negative number as "-+0.0").</summary>
    private static string Signed(double value, int decimals)
    {
        var rounded = Math.Round(value, decimals);
        return (rounded == 0 ? 0 : rounded).ToString(decimals == 1 ? "+0.0;-0.0" : "+0.00;-0.00", System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>A captioner's captions of a concept's test images: the share that name the concept before, after and for
/// the noise control, the paired gain, and the taught model's first captions, to read.</summary>
public sealed record CaptionBlock(double Before, double After, double? NoiseControl, Estimate Gain, IReadOnlyList<string> CaptionsAfter);

/// <summary>A captioner's headline on the test images: the mean share of captions naming their concept, before,
/// after and for the noise control, the paired gains, and the CIDEr-D of the reference images' captions and what
/// teaching lost of it (null when the reference set has no captions).</summary>
public sealed record CaptioningSummary(Estimate NameInCaptionBefore, Estimate NameInCaptionAfter, Estimate Gain,
    Estimate? NameInCaptionNoiseControl, Estimate? NoiseControlGain, Estimate? ReferenceCiderDBefore, Estimate? ReferenceCiderDAfter,
    Estimate? CiderDLost, Estimate? NoiseControlCiderDLost)
{
    /// <summary>The headline of a captioner's result on its test images; null for a model that writes no captions.</summary>
    public static CaptioningSummary? Of(LearnResult result)
    {
        var (before, chosen, noise, test) = (result.BeforeHits, result.Chosen, result.NoiseGrid?.Chosen, result.Split.ConceptTest);
        if (result.Before.MeanNameInCaption is not { } namedBefore) return null;
        var referenceTest = result.Split.ReferenceTest;
        Estimate? Cider(TrialResult? trial) => trial?.After.ReferenceCiderD is { } cider ? Estimate.Of(cider, trial.Hits.ReferenceCiderInterval(referenceTest)) : null;
        Estimate? Lost(TrialResult? trial) => trial?.After.ReferenceCiderD is { } cider
            ? Estimate.Of(result.Before.ReferenceCiderD!.Value - cider, KnowledgeHits.CiderLostInterval(before, trial.Hits, referenceTest))
            : null;
        Estimate Gain(TrialResult trial) => Estimate.Of(trial.After.MeanNameInCaption!.Value - namedBefore, KnowledgeHits.CaptionGainInterval(before, trial.Hits, test));
        return new CaptioningSummary(Estimate.Of(namedBefore, before.NameInCaptionInterval(test)),
            Estimate.Of(chosen.After.MeanNameInCaption!.Value, chosen.Hits.NameInCaptionInterval(test)), Gain(chosen),
            noise is null ? null : Estimate.Of(noise.After.MeanNameInCaption!.Value, noise.Hits.NameInCaptionInterval(test)), noise is null ? null : Gain(noise),
            result.Before.ReferenceCiderD is { } ciderBefore ? Estimate.Of(ciderBefore, before.ReferenceCiderInterval(referenceTest)) : null,
            Cider(chosen), Lost(chosen), Lost(noise));
    }

    /// <summary>"Captions naming their concept: 0.0 % […] before, 45.0 % […] after (gain …); reference CIDEr-D … → …, lost …."</summary>
    public string Sentence() =>
        $"Captions naming their concept: {NameInCaptionBefore.Points()} before, {NameInCaptionAfter.Points()} after (gain {Gain.Points(signed: true)})" +
        (NameInCaptionNoiseControl is { } noiseNamed ? $", noise control {noiseNamed.Points()} (gain {NoiseControlGain!.Points(signed: true)})" : "") +
        (ReferenceCiderDBefore is { } ciderBefore
            ? $"; reference CIDEr-D {ciderBefore.Score()} → {ReferenceCiderDAfter!.Score()}, lost {CiderDLost!.Score(signed: true)}" +
              (NoiseControlCiderDLost is { } noiseLost ? $" (noise control {noiseLost.Score(signed: true)})" : "")
            : "") + ".";
}

/// <summary>A concept's accuracies on its validation images, which the choice read.</summary>
public sealed record ValidationBlock(AccuracyBlock Before, AccuracyBlock After, AccuracyBlock? NoiseControl);

/// <summary>Which of a concept's real images served which role: their sources (files, or generated scenes), or
/// their indices in the order the images were given when they have no names.</summary>
public sealed record ImageSplitReport(IReadOnlyList<string> Validation, IReadOnlyList<string> Test);

public sealed record ConceptReport(string Name, IReadOnlyList<string> Descriptions, IReadOnlyList<string> InvertedImages,
    IReadOnlyList<string> RealImages, AccuracyBlock Before, AccuracyBlock After, AccuracyBlock? NoiseControl, Estimate NameTop1Gain,
    ValidationBlock? Validation, ImageSplitReport Split, CaptionBlock? NameInCaption = null);

/// <param name="ForgettingTemplates">The template set the reference top-1 was measured with (<c>--reference-templates</c>);
/// null: each class's own prompt.</param>
/// <param name="Classes">The reference classes the model already knew.</param>
/// <param name="Images">All reference images, validation and test.</param>
/// <param name="BeforeTop1">The base model's reference top-1 on the test images.</param>
/// <param name="AfterTop1">The taught model's reference top-1 on the test images: what teaching cost.</param>
/// <param name="NoiseControlTop1">The noise control's reference top-1 on the test images; null without the control.</param>
/// <param name="ValidationImages">Reference images that took part in the choice.</param>
/// <param name="TestImages">Reference images that only report.</param>
/// <param name="ValidationBeforeTop1">The base model's reference top-1 on the validation images; null when none chose.</param>
/// <param name="ValidationAfterTop1">The taught model's reference top-1 on the validation images; null when none chose.</param>
/// <param name="ValidationIndices">The indices of the validation images, so that a rerun can be checked against them.</param>
public sealed record ReferenceReport(int Classes, int Images, double BeforeTop1, double AfterTop1, double? NoiseControlTop1,
    int ValidationImages, int TestImages, double? ValidationBeforeTop1, double? ValidationAfterTop1, IReadOnlyList<int> ValidationIndices,
    string? ForgettingTemplates);

/// <summary>The headline on the test images: mean name top-1 before, after and for the noise control, the paired
/// gains, and the reference set's top-1 and forgetting, each with its interval; for a captioner, its captions too.</summary>
public sealed record SummaryReport(int TestImages, Estimate NameTop1Before, Estimate NameTop1After, Estimate Gain,
    Estimate? NameTop1NoiseControl, Estimate? NoiseControlGain, double DescriptionTop1Before, double DescriptionTop1After,
    Estimate ReferenceBefore, Estimate ReferenceAfter, Estimate Forgetting, Estimate? NoiseControlForgetting, CaptioningSummary? Captioning = null);

/// <summary>One configuration: what the choice saw (<c>target_gain</c>, <c>forgetting</c>, <c>within_bound</c>, on the
/// selection images) and, for information only, the same on the test images.</summary>
/// <param name="Train">The training mode, as --train spells it.</param>
/// <param name="LearningRate">The fine-tuning learning rate.</param>
/// <param name="DistillWeight">The distillation weight (0: none).</param>
/// <param name="TargetGain">Mean gain in the target (name top-1, or for a captioner the share of captions naming the concept) on the selection images.</param>
/// <param name="Forgetting">Reference top-1 lost (a fraction), or for a captioner reference CIDEr-D lost, on the selection images.</param>
/// <param name="WithinBound">Whether the forgetting stayed within the bound.</param>
/// <param name="Chosen">Whether this trial was chosen.</param>
/// <param name="TestGain">The same gain on the test images, for information.</param>
/// <param name="TestForgetting">The same forgetting on the test images, for information.</param>
/// <param name="CaptionWeight">λ2 of the captioning loss, for a captioner; null otherwise.</param>
public sealed record TrialReport(string Train, double LearningRate, double DistillWeight, double TargetGain, double Forgetting, bool WithinBound, bool Chosen,
    double TestGain, double TestForgetting, double? CaptionWeight = null);

public sealed record FailedTrialReport(string Train, double LearningRate, double DistillWeight, string Reason);

/// <summary>What <c>molyneux learn --report DIR</c> writes: report.json (schema in docs/knowledge-transfer-report.md)
/// and a self-contained report.html, with the inverted and sample real images beside them.</summary>
public sealed record LearnReport(
    int SchemaVersion,
    DateTime CreatedUtc,
    string? ModelPath,
    string ModelIdentity,
    string? OutputModelPath,
    string? Inverted,
    LearnOptions Options,
    string Selection,
    IReadOnlyList<string> Taught,
    SummaryReport Summary,
    IReadOnlyList<ConceptReport> Concepts,
    ReferenceReport Reference,
    IReadOnlyList<TrialReport> Trials,
    IReadOnlyList<TrialReport>? NoiseControlTrials,
    IReadOnlyList<FailedTrialReport> FailedTrials,
    IReadOnlyList<string> Notes,
    IReadOnlyList<double> InversionLoss,
    IReadOnlyList<double> FineTuneLoss,
    RunEnvironment? Environment = null)
{    /// <summary>The report's page, beside report.json.</summary>
    public const string HtmlFileName = "report.html";


    public const int CurrentSchemaVersion = 4;
    private const int CaptionsShown = 3;
    private const int RealImagesShown = 4;

    public static JsonSerializerOptions JsonOptions => SnakeCaseJson.Record;

    /// <summary>Builds the report from the result alone and writes its images into <paramref name="folder"/> (which
    /// the caller creates atomically).</summary>
    /// <param name="outputModelPath">Where the caller saved the taught model, if it did.</param>
    /// <param name="inverted">The <c>molyneux invert</c> folder the run fine-tuned on instead of inverting, if any.</param>
    /// <param name="folder">The report's folder, where the inverted images are written.</param>
    /// <param name="result">What the run measured and chose.</param>
    public static LearnReport Create(string folder, LearnResult result, string? outputModelPath = null, string? inverted = null)
    {
        var (concepts, reference) = (result.Concepts, result.Reference);
        // Every inverted image is shown, the held-out ones included.
        var imagesPerConcept = (int)result.Inversion.Inverted.shape[0] / concepts.Count;
        result.Inversion.SaveImages(folder, imagesPerConcept);
        var split = result.Split;
        var (before, chosen, noise) = (result.BeforeHits, result.Chosen, result.NoiseGrid?.Chosen);
        var validated = result.Selection == TrialSelection.Validation;
        var (beforeValidation, afterValidation, noiseValidation) = validated
            ? (before.On(split.ConceptValidation, split.ReferenceValidation), chosen.Selection, noise?.Selection)
            : (null, null, null);
        var conceptReports = concepts.Select((concept, c) =>
        {
            var real = new List<string>();
            for (var i = 0; i < Math.Min(RealImagesShown, concept.RealImages.shape[0]); i++)
            {
                var file = $"real_concept{c:D3}_image{i:D3}.png";
                ImageDecoder.SavePng(Path.Combine(folder, file), concept.RealImages[i]);
                real.Add(file);
            }
            IReadOnlyList<string> Sources(int[] indices) => indices.Select(i => concept.ImageSources?[i] ?? i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var inverted = Enumerable.Range(0, imagesPerConcept).Select(i => InversionResult.ImageFileName(c, i)).ToList();
            var onlyThis = split.ConceptTest.Select((images, other) => other == c ? images : []).ToList();
            var captions = chosen.Hits.Concepts[c].Captions is { } written
                ? new CaptionBlock(result.Before.Concepts[c].NameInCaption!.Value, chosen.After.Concepts[c].NameInCaption!.Value, noise?.After.Concepts[c].NameInCaption,
                    Estimate.Of(chosen.After.Concepts[c].NameInCaption!.Value - result.Before.Concepts[c].NameInCaption!.Value, KnowledgeHits.CaptionGainInterval(before, chosen.Hits, onlyThis)),
                    split.ConceptTest[c].Take(CaptionsShown).Select(i => written[i]).ToList())
                : null;
            return new ConceptReport(concept.Name, concept.Descriptions, inverted, real,
                AccuracyBlock.Of(result.Before.Concepts[c]), AccuracyBlock.Of(chosen.After.Concepts[c]),
                noise is null ? null : AccuracyBlock.Of(noise.After.Concepts[c]),
                Estimate.Of(chosen.After.Concepts[c].NameTop1 - result.Before.Concepts[c].NameTop1, KnowledgeHits.GainInterval(before, chosen.Hits, onlyThis)),
                validated ? new ValidationBlock(AccuracyBlock.Of(beforeValidation!.Concepts[c]), AccuracyBlock.Of(afterValidation!.Concepts[c]),
                    noiseValidation is null ? null : AccuracyBlock.Of(noiseValidation.Concepts[c])) : null,
                new ImageSplitReport(Sources(split.ConceptValidation[c]), Sources(split.ConceptTest[c])), captions);
        }).ToList();

        var test = split.ConceptTest;
        var summary = new SummaryReport(test.Sum(images => images.Length),
            Estimate.Of(result.Before.MeanNameTop1, before.NameTop1Interval(test)),
            Estimate.Of(chosen.After.MeanNameTop1, chosen.Hits.NameTop1Interval(test)),
            Estimate.Of(chosen.After.MeanNameTop1 - result.Before.MeanNameTop1, KnowledgeHits.GainInterval(before, chosen.Hits, test)),
            noise is null ? null : Estimate.Of(noise.After.MeanNameTop1, noise.Hits.NameTop1Interval(test)),
            noise is null ? null : Estimate.Of(noise.After.MeanNameTop1 - result.Before.MeanNameTop1, KnowledgeHits.GainInterval(before, noise.Hits, test)),
            result.Before.Concepts.Average(c => c.DescriptionTop1), chosen.After.Concepts.Average(c => c.DescriptionTop1),
            Estimate.Of(result.Before.ReferenceTop1, before.ReferenceInterval(split.ReferenceTest)),
            Estimate.Of(chosen.After.ReferenceTop1, chosen.Hits.ReferenceInterval(split.ReferenceTest)),
            Estimate.Of(result.Before.ReferenceTop1 - chosen.After.ReferenceTop1, KnowledgeHits.ForgettingInterval(before, chosen.Hits, split.ReferenceTest)),
            noise is null ? null : Estimate.Of(result.Before.ReferenceTop1 - noise.After.ReferenceTop1, KnowledgeHits.ForgettingInterval(before, noise.Hits, split.ReferenceTest)),
            CaptioningSummary.Of(result));

        IReadOnlyList<TrialReport> Trials(GridResult grid) => grid.Trials.Select(t => new TrialReport(FineTuneOptions.TrainModeName(t.Configuration.Train), t.Configuration.LearningRate, t.Configuration.DistillWeight,
            t.TargetGain, t.Forgetting, t.WithinBound, ReferenceEquals(t, grid.Chosen),
            t.After.MeanTarget - result.Before.MeanTarget, t.After.ForgettingSince(result.Before), t.Configuration.CaptionWeight)).ToList();
        var failed = result.Grid.Failed.Concat(result.NoiseGrid?.Failed ?? [])
            .Select(f => new FailedTrialReport(FineTuneOptions.TrainModeName(f.Configuration.Train), f.Configuration.LearningRate, f.Configuration.DistillWeight, f.Reason)).ToList();
        return new LearnReport(CurrentSchemaVersion, DateTime.UtcNow, result.BaseSource?.Path, result.BaseIdentity, outputModelPath, inverted, result.Options,
            result.Selection.ToString().ToLowerInvariant(), result.Taught.Select(c => concepts[c].Name).ToList(), summary, conceptReports,
            new ReferenceReport(reference.Names.Count, reference.Labels.Count, result.Before.ReferenceTop1, chosen.After.ReferenceTop1,
                noise?.After.ReferenceTop1, split.ReferenceValidation.Length, split.ReferenceTest.Length,
                split.ReferenceValidation.Length == 0 ? null : before.On(test, split.ReferenceValidation).ReferenceTop1,
                split.ReferenceValidation.Length == 0 ? null : chosen.Hits.On(test, split.ReferenceValidation).ReferenceTop1,
                split.ReferenceValidation, reference.ForgettingTemplates),
            Trials(result.Grid), result.NoiseGrid is { } noiseGrid ? Trials(noiseGrid) : null, failed, result.Notes,
            result.Inversion.LossCurve.Select(point => point.Loss).ToList(), chosen.Losses, RunEnvironment.Capture(result.Model.Device));
    }

    public void Save(string folder)
    {
        AtomicFile.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(this, JsonOptions) + "\n");
        AtomicFile.WriteAllText(Path.Combine(folder, HtmlFileName), Html(folder));
        AtomicFile.WriteAllText(Path.Combine(folder, "summary.md"), SummaryMarkdown());
    }

    /// <summary>The headline as Markdown (summary.md): mean name and description top-1 over the concepts and the
    /// reference top-1 on the test images, before, after and for the noise control, with 95 % intervals, then the
    /// paired gains and the forgetting. The README's demo table is this file as the demo wrote it.</summary>
    public string SummaryMarkdown()
    {
        static string Percent(double value) => $"{100 * value:F1} %";
        string Label(TrialReport? trial, string what) => trial is null ? what :
            $"{what} (`--train {trial.Train}`, lr {trial.LearningRate:0.###e-0}{(trial.DistillWeight > 0 ? $", distill {trial.DistillWeight:0.###}" : "")}" +
            $"{(trial.CaptionWeight is { } caption ? $", caption {caption:0.###}" : "")})";
        var chosen = Trials.FirstOrDefault(trial => trial.Chosen);
        var noiseChosen = NoiseControlTrials?.FirstOrDefault(trial => trial.Chosen);
        var rows = new List<string>
        {
            $"| {Concepts.Count} concepts, {Summary.TestImages} test images | name top-1 | description top-1 | reference top-1 ({Reference.Classes} classes, {Reference.TestImages} images) |",
            "|---|---:|---:|---:|",
            $"| before | {Summary.NameTop1Before.Points()} | {Percent(Summary.DescriptionTop1Before)} | {Summary.ReferenceBefore.Points()} |",
            $"| {Label(chosen, "after")} | {Summary.NameTop1After.Points()} | {Percent(Summary.DescriptionTop1After)} | {Summary.ReferenceAfter.Points()} |",
        };
        if (Summary.NameTop1NoiseControl is { } noise)
            rows.Add($"| {Label(noiseChosen, "noise control")} | {noise.Points()} | {Percent(Concepts.Average(c => c.NoiseControl!.DescriptionTop1))} | " +
                     $"{Percent(Reference.NoiseControlTop1!.Value)} |");
        rows.Add("");
        rows.Add($"Name top-1 gain {Summary.Gain.Points(signed: true)}" +
                 (Summary.NoiseControlGain is { } noiseGain ? $", noise control {noiseGain.Points(signed: true)}" : "") +
                 $"; reference top-1 lost {Summary.Forgetting.Points(signed: true)}. Chosen by `--select {Selection}`" +
                 (chosen is { WithinBound: false } ? " (no configuration stayed within the forgetting bound: the one that forgot least)" : "") +
                 "; 95 % bootstrap intervals over the test images.");
        if (Summary.Captioning is { } captioning)
        {
            rows.Add("");
            rows.Add(captioning.Sentence());
        }
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
        html.Append("<h2>Summary (test images)</h2><p>").Append(WebUtility.HtmlEncode($"Mean name top-1 {Summary.NameTop1Before.Points()} → {Summary.NameTop1After.Points()}, " +
                $"gain {Summary.Gain.Points(signed: true)}" + (Summary.NoiseControlGain is { } noiseGain ? $"; noise control gain {noiseGain.Points(signed: true)}" : "") +
                $"; chosen by --select {Selection}.")).Append("</p>");
        foreach (var note in Notes) html.Append("<p><i>").Append(WebUtility.HtmlEncode(note)).Append("</i></p>");
        html.Append("<h2>Forgetting</h2>")
            .Append(Bar("reference top-1 before", Reference.BeforeTop1, "#999")).Append(Bar("reference top-1 after", Reference.AfterTop1, "steelblue"));
        if (Reference.NoiseControlTop1 is { } noiseTop1) html.Append(Bar("after, noise control", noiseTop1, "#c96"));
        html.Append($"<p>{Reference.Classes} reference classes, {Reference.Images} images ({Reference.ValidationImages} validation, {Reference.TestImages} test).</p>");
        foreach (var concept in Concepts)
        {
            html.Append($"<section><h2>{WebUtility.HtmlEncode(concept.Name)}</h2><p>{string.Join("<br>", concept.Descriptions.Select(WebUtility.HtmlEncode))}</p>")
                .Append("<p>Inverted: ").Append(string.Concat(concept.InvertedImages.Select(Image))).Append("</p>")
                .Append("<p>Real: ").Append(string.Concat(concept.RealImages.Select(Image))).Append("</p>")
                .Append(Bar("name prompt, before", concept.Before.NameTop1, "#999")).Append(Bar("name prompt, after", concept.After.NameTop1, "steelblue"))
                .Append(Bar("description prompt, before", concept.Before.DescriptionTop1, "#bbb")).Append(Bar("description prompt, after", concept.After.DescriptionTop1, "#6a9"))
                .Append(Bar("name, all classes, after", concept.After.NameTop1AllClasses, "#69c"));
            if (concept.NoiseControl is { } noise) html.Append(Bar("name prompt, noise control", noise.NameTop1, "#c96"));
            if (concept.NameInCaption is { } captions)
            {
                html.Append(Bar("captions naming it, before", captions.Before, "#999")).Append(Bar("captions naming it, after", captions.After, "#a6c"));
                if (captions.NoiseControl is { } noiseNamed) html.Append(Bar("captions naming it, noise control", noiseNamed, "#c96"));
                html.Append("<p>Captions after: ").Append(string.Join(" · ", captions.CaptionsAfter.Select(caption => $"<q>{WebUtility.HtmlEncode(caption)}</q>"))).Append("</p>");
            }
            html.Append("</section>");
        }
        void TrialTable(string title, IReadOnlyList<TrialReport> trials)
        {
            // A captioner's forgetting is CIDEr-D lost, a score rather than a fraction.
            string Lost(double value) => Summary.Captioning?.CiderDLost is not null ? $"{value:+0.00;-0.00} CIDEr-D" : $"{100 * value:+0.0;-0.0} pts";
            html.Append($"<h2>{title}</h2><table><tr><th>train</th><th>lr</th><th>distill</th><th>caption λ2</th><th>gain (selection)</th><th>forgetting (selection)</th><th>within bound</th>" +
                        "<th>gain (test)</th><th>forgetting (test)</th><th></th></tr>");
            foreach (var trial in trials)
                html.Append($"<tr><td>{trial.Train}</td><td>{trial.LearningRate:0.###e-0}</td><td>{trial.DistillWeight:0.###}</td><td>{trial.CaptionWeight?.ToString("0.###") ?? "–"}</td><td>{100 * trial.TargetGain:+0.0;-0.0} pts</td><td>{Lost(trial.Forgetting)}</td>" +
                            $"<td>{trial.WithinBound}</td><td>{100 * trial.TestGain:+0.0;-0.0} pts</td><td>{Lost(trial.TestForgetting)}</td><td>{(trial.Chosen ? "chosen" : "")}</td></tr>");
            html.Append("</table>");
        }
        TrialTable("Configurations tried", Trials);
        if (NoiseControlTrials is { } noiseTrials) TrialTable("Noise control, the same grid", noiseTrials);
        foreach (var failed in FailedTrials)
            html.Append("<p>Failed: ").Append(WebUtility.HtmlEncode($"--train {failed.Train}, lr {failed.LearningRate:0.###e-0}, distill {failed.DistillWeight:0.###}: {failed.Reason}")).Append("</p>");
        html.Append("<h2>Loss curves</h2>").Append(Curve(InversionLoss, "inversion loss (mean over images)")).Append(Curve(FineTuneLoss, "fine-tuning loss"));
        html.Append("<h2>Options</h2><pre>").Append(WebUtility.HtmlEncode(JsonSerializer.Serialize(Options, JsonOptions))).Append("</pre></body></html>\n");
        return html.ToString();
    }
}
