using System.CommandLine;
using Molyneux.Captioning;
using Molyneux.Checkpoints;
using Molyneux.Evaluation;
using Molyneux.Runtime;
using Molyneux.Segmentation;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux eval classify|retrieve|caption|segment</c>: zero-shot classification of an image folder and image–text
/// retrieval on a captions file, with a console summary and a JSON report (schema: docs/evaluation-report.md); and a
/// CoCa's captions of a captions file's images scored against its captions (docs/captioning.md); zero-shot
/// segmentation of images with masks (docs/segmentation.md).</summary>
public static class EvalCommands
{
    public static Command Create(CliContext context) => new("eval", "Zero-shot evaluation: classification and retrieval; captioning; segmentation")
    {
        Classify(context),
        Retrieve(context),
        Caption(context),
        Segment(context),
    };

    internal static Option<string?> JsonOut() => new("--json") { Description = "Write the report as JSON to this file" };

    internal static Option<bool> NoCache() => new("--no-cache") { Description = "Do not read or write the embedding cache" };

    internal static Option<string?> CacheFolder() => new("--cache") { Description = $"Embedding cache folder (default {EmbeddingCache.DefaultFolder})" };

    internal static Option<int> BatchSize() => new("--batch-size") { Description = "Images or texts per encoder call", DefaultValueFactory = _ => 64 };

    internal static EmbeddingCache? Cache(ParseResult parse, Option<bool> noCache, Option<string?> folder) =>
        parse.GetValue(noCache) ? null : new EmbeddingCache(parse.GetValue(folder) ?? EmbeddingCache.DefaultFolder);

    private static Command Classify(CliContext context)
    {
        var model = new ModelOptions();
        var data = new Option<string>("--data") { Description = "Image folder: DIR/<class>/<image>, optional DIR/classes.json", Required = true };
        var templates = new Option<string>("--templates")
        {
            Description = $"Prompt templates: {string.Join(", ", PromptTemplates.BuiltInNames)}, or a file with one template per line ({{}} = class)",
            DefaultValueFactory = _ => "openai_imagenet",
        };
        var ensemble = new Option<string>("--ensemble") { Description = "mean: average normalized prompt embeddings (open_clip); max: best template per class (ASIF)", DefaultValueFactory = _ => "mean" };
        ensemble.AcceptOnlyFromAmong("mean", "max");
        var descriptions = new Option<string?>("--descriptions") { Description = "JSON {class: [descriptor, ...]}: classify by description instead of templates" };
        var descriptorTemplate = new Option<string>("--descriptor-template") { Description = "Prompt for each descriptor", DefaultValueFactory = _ => ClassDescriptions.DefaultTemplate };
        var classes = new Option<string?>("--classes") { Description = "Comma-separated classes to keep, each 'name' or 'name=display name'" };
        var (json, noCache, cacheFolder, batchSize) = (JsonOut(), NoCache(), CacheFolder(), BatchSize());
        var command = new Command("classify", "Zero-shot classification accuracy on an image folder");
        model.AddTo(command);
        foreach (var option in new Option[] { data, templates, ensemble, descriptions, descriptorTemplate, classes, json, noCache, cacheFolder, batchSize })
            command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var dataset = ImageFolderDataset.Load(parse.GetValue(data)!);
            using var clip = model.Load(parse, context);
            var options = new ClassificationOptions
            {
                ModelPath = clip.Source?.Path,
                Templates = PromptTemplates.Load(parse.GetValue(templates)!),
                Ensemble = parse.GetValue(ensemble) == "max" ? TemplateEnsemble.Max : TemplateEnsemble.Mean,
                Descriptions = parse.GetValue(descriptions) is { } file ? ClassDescriptions.Load(file) : null,
                DescriptorTemplate = parse.GetValue(descriptorTemplate)!,
                Classes = parse.GetValue(classes) is { } list ? ClassSelection.Parse(list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)) : null,
                BatchSize = parse.GetValue(batchSize),
                Cache = Cache(parse, noCache, cacheFolder),
            };
            var report = CliProgress.Run(context, progress => Evaluator.EvaluateClassification(clip, clip, dataset, options, progress));
            if (parse.GetValue(json) is { } output) report.Save(output);
            PrintClassification(context, report);
            return 0;
        });
        return command;
    }

    /// <summary>The metrics, the per-class table and the five most frequent confusions.</summary>
    internal static void PrintClassification(CliContext context, ClassificationReport report)
    {
        var metrics = new Table().AddColumns("metric", "value");
        metrics.AddRow("images / classes", $"{report.Dataset.NumImages} / {report.Dataset.NumClasses}");
        metrics.AddRow("top-1", $"{100 * report.Metrics.Top1:F2}%");
        metrics.AddRow("top-5", $"{100 * report.Metrics.Top5:F2}%");
        metrics.AddRow("mean per-class recall", $"{100 * report.Metrics.MeanPerClassRecall:F2}%");
        context.Console.Write(metrics);
        var perClass = new Table().AddColumns("class", "images", "correct", "accuracy");
        foreach (var row in report.PerClass)
            perClass.AddRow(Markup.Escape(row.ClassName), $"{row.Count}", $"{row.Correct}", row.Accuracy is { } accuracy ? $"{100 * accuracy:F1}%" : "–");
        context.Console.Write(perClass);
        foreach (var pair in report.MostConfused.Take(5))
            context.Console.WriteLine($"confused: {pair.TrueClass} → {pair.PredictedClass} ({pair.Count}×)");
    }

    private static Command Retrieve(CliContext context)
    {
        var model = new ModelOptions();
        var captions = new Option<string>("--captions") { Description = "JSONL: {\"image\": \"relative/path\", \"captions\": [\"...\"]} per line", Required = true };
        var allowOutside = new Option<bool>("--allow-outside-root") { Description = "Accept image paths outside the captions file's folder" };
        var (json, noCache, cacheFolder, batchSize) = (JsonOut(), NoCache(), CacheFolder(), BatchSize());
        var command = new Command("retrieve", "Image→text and text→image recall at 1, 5 and 10");
        model.AddTo(command);
        foreach (var option in new Option[] { captions, allowOutside, json, noCache, cacheFolder, batchSize }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var dataset = CaptionsDataset.Load(parse.GetValue(captions)!, parse.GetValue(allowOutside));
            using var clip = model.Load(parse, context);
            var options = new RetrievalOptions
            {
                ModelPath = clip.Source?.Path,
                BatchSize = parse.GetValue(batchSize),
                Cache = Cache(parse, noCache, cacheFolder),
            };
            var report = CliProgress.Run(context, progress => Evaluator.EvaluateRetrieval(clip, clip, dataset, options, progress));
            if (parse.GetValue(json) is { } output) report.Save(output);
            var metrics = report.Metrics;
            var table = new Table().AddColumns("direction", "R@1", "R@5", "R@10");
            table.AddRow("image → text", $"{100 * metrics.ImageToTextR1:F2}%", $"{100 * metrics.ImageToTextR5:F2}%", $"{100 * metrics.ImageToTextR10:F2}%");
            table.AddRow("text → image", $"{100 * metrics.TextToImageR1:F2}%", $"{100 * metrics.TextToImageR5:F2}%", $"{100 * metrics.TextToImageR10:F2}%");
            context.Console.Write(table);
            context.Console.WriteLine($"{report.Dataset.NumImages} images, {report.Dataset.NumCaptions} captions");
            return 0;
        });
        return command;
    }

    private static Command Segment(CliContext context)
    {
        var model = new ModelOptions();
        var arguments = new SaliencyArguments();
        var data = new Option<string>("--data") { Description = "DIR/images/<class>/<image> and DIR/masks/<class>/<image>.png (as data shapes --masks writes)", Required = true };
        var prompts = new Option<string?>("--prompts") { Description = "JSON {class folder: prompt}; default --template over the class names" };
        var template = new Option<string>("--template") { Description = "Prompt of each class ({} = its display name)", DefaultValueFactory = _ => "a {}" };
        var tolerance = new Option<double>("--tolerance") { Description = "NSD tolerance in pixels", DefaultValueFactory = _ => SegmentationMetrics.PaperNsdTolerance };
        var json = JsonOut();
        var report = new Option<string?>("--report") { Description = $"Write DIR/{SegmentationReport.FileName} and DIR/{SegmentationGallery.IndexFile}: heat maps and masks beside the true masks" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing --report folder" };
        var command = new Command("segment", "Zero-shot segmentation: saliency of each class's prompt → mask → DSC, IoU, NSD per class and overall");
        model.AddTo(command);
        arguments.AddTo(command);
        foreach (var option in new Option[] { data, prompts, template, tolerance, json, report, overwrite }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var dataset = SegmentationDataset.Load(parse.GetValue(data)!);
            using var loaded = model.Load(parse, context);
            var options = new SegmentationOptions
            {
                Method = arguments.Create(parse, loaded),
                Mask = arguments.MaskOptions(parse),
                Tolerance = parse.GetValue(tolerance),
                PromptsFile = parse.GetValue(prompts),
                Template = parse.GetValue(template)!,
            };
            // One saliency optimisation per image takes seconds: a bar with the time left, or a line every 5 % in logs.
            SegmentationReport Evaluate(SegmentationOptions chosen)
            {
                SegmentationReport? evaluated = null;
                CliProgress.Steps(context, "segmenting", report => evaluated = SegmentationEvaluator.Evaluate(loaded, dataset, chosen,
                    new CliProgress.SynchronousProgress<EvaluationProgress>(p =>
                    {
                        if (p.Stage == EvaluationStage.EncodingImages) report(p.Done, p.Total, "images");
                    })));
                return evaluated!;
            }
            SegmentationReport result;
            if (parse.GetValue(report) is { } folder)
            {
                result = null!;
                AtomicFile.WriteDirectory(folder, parse.GetValue(overwrite), temporary =>
                {
                    var gallery = new SegmentationGallery(temporary);
                    result = Evaluate(options with { OnImage = gallery.Add });
                    result.Save(Path.Combine(temporary, SegmentationReport.FileName));
                    gallery.WriteIndex(result);
                });
            }
            else
                result = Evaluate(options);
            if (parse.GetValue(json) is { } output) result.Save(output);
            var table = new Table().AddColumns("class", "prompt", "images", "DSC", "IoU", "NSD");
            foreach (var row in result.PerClass.Append(result.Overall))
                table.AddRow(Markup.Escape(row.Class), Markup.Escape(row.Prompt), $"{row.Images}", Markup.Escape($"{row.Dice}"), Markup.Escape($"{row.IoU}"), Markup.Escape($"{row.Nsd}"));
            context.Console.Write(table);
            context.Console.WriteLine($"{result.Method}; mask by {result.Mask.Method}; NSD at τ = {result.NsdTolerance:g3} px; 95 % bootstrap intervals");
            return 0;
        });
        return command;
    }

    private static Command Caption(CliContext context)
    {
        var arguments = new CaptionArguments();
        var captions = new Option<string>("--captions") { Description = "JSONL: {\"image\": \"relative/path\", \"captions\": [\"...\"]} per line, the captions as references", Required = true };
        var allowOutside = new Option<bool>("--allow-outside-root") { Description = "Accept image paths outside the captions file's folder" };
        var clipModel = new Option<string?>("--clip-model") { Description = "A CLIP or dual encoder (as --model of eval retrieve, hub ids too) to add the mean CLIP-score, 2.5·max(cos, 0)" };
        var json = new Option<bool>("--json") { Description = "Print JSON: {\"metrics\":{…},\"captions\":[{image,generated,references}]}" };
        var report = new Option<string?>("--report") { Description = $"Write that JSON to DIR/{CaptionEvaluationReport.FileName}" };
        var command = new Command("caption", "Caption a captions file's images with a CoCa model; BLEU-1…4 and CIDEr-D against its captions, optionally CLIP-score");
        arguments.AddTo(command);
        foreach (var option in new Option[] { captions, allowOutside, clipModel, json, report }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var dataset = CaptionsDataset.Load(parse.GetValue(captions)!, parse.GetValue(allowOutside));
            var options = arguments.Options(parse);
            using var coca = arguments.Load(parse);
            using var clip = parse.GetValue(clipModel) is { } clipPath
                ? VisionLanguageCheckpoint.Load(HuggingFaceCache.ResolveModelPath(clipPath, Environment.GetEnvironmentVariable), new ClipLoadOptions { Device = arguments.ParseDevice(parse) })
                : null;
            var result = CaptionEvaluation.Evaluate(new Captioner(coca), dataset, options, clip);
            if (parse.GetValue(report) is { } folder) result.SaveTo(folder);
            foreach (var warning in result.Warnings) context.Error.WriteLine($"warning: {warning}");
            if (parse.GetValue(json))
            {
                context.Output.WriteLine(result.ToJson());
                return 0;
            }
            var metrics = result.Metrics;
            var table = new Table().AddColumns("metric", "value");
            foreach (var (name, value) in new[] { ("BLEU-1", metrics.Bleu1), ("BLEU-2", metrics.Bleu2), ("BLEU-3", metrics.Bleu3), ("BLEU-4", metrics.Bleu4), ("CIDEr-D", metrics.CiderD) })
                table.AddRow(name, $"{value:F4}");
            if (metrics.ClipScore is { } clipScore) table.AddRow("CLIP-score", $"{clipScore:F4}");
            context.Console.Write(table);
            context.Console.WriteLine($"{result.Captions.Count} images, {dataset.Captions.Count} reference captions");
            return 0;
        });
        return command;
    }
}
