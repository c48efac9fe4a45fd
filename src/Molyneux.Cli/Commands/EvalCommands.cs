using System.CommandLine;
using Molyneux.Captioning;
using Molyneux.Checkpoints;
using Molyneux.Evaluation;
using Molyneux.Runtime;
using Molyneux.Segmentation;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux eval classify|retrieve|linear-probe|build|caption|segment</c>: zero-shot classification of an image
/// folder and image–text retrieval on a captions file, and a linear probe on frozen image features, with a console
/// summary and a JSON report (schema: docs/evaluation-report.md), in Molyneux's format or CLIP_benchmark's; CLIP_benchmark
/// results merged into one CSV; a CoCa's captions of a captions file's images scored against its captions
/// (docs/captioning.md); zero-shot segmentation of images with masks (docs/segmentation.md).</summary>
public static class EvalCommands
{
    public static Command Create(CliContext context) => new("eval", "Zero-shot evaluation: classification and retrieval; linear probe; captioning; segmentation")
    {
        Classify(context),
        Retrieve(context),
        LinearProbe(context),
        Build(context),
        Caption(context),
        Segment(context),
    };

    internal static JsonOutputOption JsonOut() => new("The report as JSON (docs/evaluation-report.md)");

    internal static Option<bool> NoCache() => new("--no-cache") { Description = "Do not read or write the embedding cache" };

    internal static Option<string?> CacheFolder() => new("--cache") { Description = $"Embedding cache folder (default {EmbeddingCache.DefaultFolder})" };

    internal static Option<int> BatchSize() => new("--batch-size") { Description = "Images or texts per encoder call", DefaultValueFactory = _ => 64 };

    internal static EmbeddingCache? Cache(ParseResult parse, Option<bool> noCache, Option<string?> folder) =>
        parse.GetValue(noCache) ? null : new EmbeddingCache(parse.GetValue(folder) ?? EmbeddingCache.DefaultFolder);

    private static Command Classify(CliContext context)
    {
        var model = new ModelOptions();
        var data = new Option<string>("--data") { Description = "Labelled images: DIR/<class>/…/<image> (optional DIR/classes.json), a Hugging Face image folder with metadata.jsonl/.csv, or CLIP_benchmark's DIR/classnames.txt + DIR/<split>/*.tar (docs/datasets.md)", Required = true };
        var dataArguments = new DatasetArguments(captions: false);
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
        var format = new ResultFormatArguments();
        var command = new Command("classify", "Zero-shot classification accuracy on an image folder");
        model.AddTo(command);
        format.AddTo(command);
        dataArguments.AddTo(command);
        foreach (var option in new Option[] { data, templates, ensemble, descriptions, descriptorTemplate, classes, json.Option, noCache, cacheFolder, batchSize })
            command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var dataset = dataArguments.OpenLabeled(parse, parse.GetValue(data)!);
            using var clip = model.Load(parse, context);
            format.Check(parse, json);
            var options = new ClassificationOptions
            {
                ModelPath = clip.Source?.Path,
                Templates = PromptTemplates.Load(DatasetArguments.Templates(parse, templates, dataset)),
                Ensemble = parse.GetValue(ensemble) == "max" ? TemplateEnsemble.Max : TemplateEnsemble.Mean,
                Descriptions = parse.GetValue(descriptions) is { } file ? ClassDescriptions.Load(file) : null,
                DescriptorTemplate = parse.GetValue(descriptorTemplate)!,
                Classes = parse.GetValue(classes) is { } list ? ClassSelection.Parse(list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)) : null,
                BatchSize = parse.GetValue(batchSize),
                Cache = Cache(parse, noCache, cacheFolder),
            };
            var report = CliProgress.Run(context, progress => Evaluator.EvaluateClassification(clip, clip, dataset, options, progress));
            if (format.Write(parse, context, json, report, parse.GetValue(data)!, clip.Source?.Path, ClipBenchmarkResult.FromClassification))
                return 0;
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
        var captions = new Option<string>("--captions") { Description = "Image-caption pairs: JSONL {\"image\": \"relative/path\", \"captions\": [\"...\"]} per line, COCO or Karpathy .json, .csv/.tsv, or webdataset .tar shards (docs/datasets.md)", Required = true };
        var allowOutside = new Option<bool>("--allow-outside-root") { Description = "Accept image paths outside the captions file's folder" };
        var dataArguments = new DatasetArguments(captions: true);
        var (json, noCache, cacheFolder, batchSize) = (JsonOut(), NoCache(), CacheFolder(), BatchSize());
        var recallK = new Option<string>("--recall-k") { Description = "Comma-separated k of the clip_benchmark recall@k metrics (the molyneux report always holds 1, 5 and 10)", DefaultValueFactory = _ => "1,5,10" };
        var format = new ResultFormatArguments();
        var command = new Command("retrieve", "Image→text and text→image recall at 1, 5 and 10 (any k with --format clip_benchmark --recall-k)");
        model.AddTo(command);
        format.AddTo(command);
        command.Options.Add(recallK);
        dataArguments.AddTo(command);
        foreach (var option in new Option[] { captions, allowOutside, json.Option, noCache, cacheFolder, batchSize }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var dataset = dataArguments.OpenCaptions(parse, parse.GetValue(captions)!, parse.GetValue(allowOutside));
            using var clip = model.Load(parse, context);
            format.Check(parse, json);
            var options = new RetrievalOptions
            {
                ModelPath = clip.Source?.Path,
                BatchSize = parse.GetValue(batchSize),
                Cache = Cache(parse, noCache, cacheFolder),
                RecallK = ParseRecallK(parse.GetValue(recallK)!),
            };
            var report = CliProgress.Run(context, progress => Evaluator.EvaluateRetrieval(clip, clip, dataset, options, progress));
            if (format.Write(parse, context, json, report, parse.GetValue(captions)!, clip.Source?.Path, ClipBenchmarkResult.FromRetrieval))
                return 0;
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

    /// <summary>"1,5,10" → [1, 5, 10]: positive integers, no repeats.</summary>
    internal static IReadOnlyList<int> ParseRecallK(string value)
    {
        var ks = new List<int>();
        foreach (var item in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(item, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var k) || k < 1)
                throw new OptionException($"--recall-k: '{item}' is not a positive integer (expected e.g. 1,5,10)");
            if (ks.Contains(k)) throw new OptionException($"--recall-k: {k} is given twice");
            ks.Add(k);
        }
        if (ks.Count == 0) throw new OptionException($"--recall-k: expected at least one k, got '{value}'");
        return ks;
    }

    private static Command LinearProbe(CliContext context)
    {
        var model = new ModelOptions();
        var train = new Option<string>("--train") { Description = "Training images, in any labelled layout (docs/datasets.md); a share of them chooses the weight decay", Required = true };
        var test = new Option<string>("--test") { Description = "Test images with the same classes, in any labelled layout (it may be the same dataset as --train, another split)", Required = true };
        var trainSplit = new Option<string?>("--train-split") { Description = "The split of --train to fit on, when it has several (e.g. train)" };
        var testSplit = new Option<string?>("--test-split") { Description = "The split of --test to measure on, when it has several (e.g. test)" };
        var dataset = new DatasetArguments(captions: false);
        var defaults = new LinearProbeOptions { Cache = null };
        var validationFraction = new Option<double>("--val-fraction") { Description = "Share of each training class held out to choose the weight decay", DefaultValueFactory = _ => defaults.ValidationFraction };
        var seed = new Option<int>("--seed") { Description = "Seed of the validation split", DefaultValueFactory = _ => defaults.Seed };
        var steps = new Option<int>("--steps") { Description = "Full-batch Adam steps per fit", DefaultValueFactory = _ => defaults.Steps };
        var learningRate = new Option<double>("--lr") { Description = "Peak learning rate (cosine decay to zero)", DefaultValueFactory = _ => defaults.LearningRate };
        var weightDecays = new Option<string?>("--weight-decays") { Description = "Comma-separated increasing L2 weights to search (default: 97 log-spaced values from 1e-6 to 100, as CLIP_benchmark)" };
        var raw = new Option<bool>("--no-normalize") { Description = "Fit on the raw image embeddings instead of L2-normalised ones" };
        var (json, noCache, cacheFolder, batchSize) = (JsonOut(), NoCache(), CacheFolder(), BatchSize());
        var format = new ResultFormatArguments();
        var command = new Command("linear-probe", "Logistic regression on frozen image features; weight decay chosen on a validation split; test accuracy");
        model.AddTo(command);
        format.AddTo(command);
        foreach (var option in new Option[] { train, test, trainSplit, testSplit, validationFraction, seed, steps, learningRate, weightDecays, raw, json.Option, noCache, cacheFolder, batchSize })
            command.Options.Add(option);
        dataset.AddTo(command, withSplit: false);
        context.SetAction(command, parse =>
        {
            format.Check(parse, json);
            var options = new LinearProbeOptions
            {
                ValidationFraction = parse.GetValue(validationFraction),
                Seed = parse.GetValue(seed),
                Steps = parse.GetValue(steps),
                LearningRate = parse.GetValue(learningRate),
                WeightDecays = parse.GetValue(weightDecays) is { } list ? NumberList.Parse("--weight-decays", list) : Molyneux.Evaluation.LinearProbe.DefaultWeightDecays,
                NormalizeFeatures = !parse.GetValue(raw),
                BatchSize = parse.GetValue(batchSize),
                Cache = Cache(parse, noCache, cacheFolder),
            };
            options.Validate();
            var trainSet = dataset.OpenLabeled(parse, parse.GetValue(train)!, parse.GetValue(trainSplit));
            var testSet = dataset.OpenLabeled(parse, parse.GetValue(test)!, parse.GetValue(testSplit));
            using var clip = model.Load(parse, context);
            options = options with { ModelPath = clip.Source?.Path, Device = clip.Device.Device };
            var report = CliProgress.Run(context, progress => Molyneux.Evaluation.LinearProbe.Evaluate(clip, trainSet, testSet, options, progress));
            if (format.Write(parse, context, json, report, parse.GetValue(train)!, clip.Source?.Path, ClipBenchmarkResult.FromLinearProbe))
                return 0;
            var metrics = new Table().AddColumns("metric", "value");
            metrics.AddRow("train / validation / test images", $"{report.Dataset.NumTrain} / {report.Dataset.NumValidation} / {report.Dataset.NumTest}");
            metrics.AddRow("classes", $"{report.Dataset.NumClasses}");
            metrics.AddRow("weight decay (chosen on validation)", $"{report.WeightDecay:g4}");
            metrics.AddRow("top-1", $"{100 * report.Metrics.Top1:F2}%");
            metrics.AddRow("top-5", $"{100 * report.Metrics.Top5:F2}%");
            metrics.AddRow("mean per-class recall", $"{100 * report.Metrics.MeanPerClassRecall:F2}%");
            context.Console.Write(metrics);
            return 0;
        });
        return command;
    }

    private static Command Build(CliContext context)
    {
        var files = new Argument<string[]>("results") { Description = "CLIP_benchmark-format result files (--format clip_benchmark), or folders of them (*.json)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "The CSV file to write", DefaultValueFactory = _ => "benchmark.csv" };
        var command = new Command("build", "Merge CLIP_benchmark-format results into one CSV, as CLIP_benchmark's build does");
        command.Arguments.Add(files);
        command.Options.Add(output);
        context.SetAction(command, parse =>
        {
            var table = ClipBenchmarkTable.Build(parse.GetValue(files)!);
            table.Save(parse.GetValue(output)!);
            context.Console.WriteLine($"{table.Rows.Count} results, {table.Columns.Count} columns → {Path.GetFullPath(parse.GetValue(output)!)}");
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
        foreach (var option in new Option[] { data, prompts, template, tolerance, json.Option, report, overwrite }) command.Options.Add(option);
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
            if (json.Write(parse, context, result.ToJson)) return 0;
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
        var captions = new Option<string>("--captions") { Description = "Image-caption pairs, the captions as references: JSONL {\"image\": \"relative/path\", \"captions\": [\"...\"]} per line, COCO or Karpathy .json, .csv/.tsv, or webdataset .tar shards (docs/datasets.md)", Required = true };
        var allowOutside = new Option<bool>("--allow-outside-root") { Description = "Accept image paths outside the captions file's folder" };
        var dataArguments = new DatasetArguments(captions: true);
        var clipModel = new Option<string?>("--clip-model") { Description = "A CLIP or dual encoder (as --model of eval retrieve, hub ids too) to add the mean CLIP-score, 2.5·max(cos, 0)" };
        var json = new JsonOutputOption("JSON: {\"metrics\":{…},\"captions\":[{image,generated,references}]}");
        var report = new Option<string?>("--report") { Description = $"Write that JSON to DIR/{CaptionEvaluationReport.FileName}" };
        var html = new CaptionPageOption();
        var command = new Command("caption", "Caption a captions file's images with a CoCa model; BLEU-1…4 and CIDEr-D against its captions, optionally CLIP-score");
        arguments.AddTo(command);
        dataArguments.AddTo(command);
        foreach (var option in new Option[] { captions, allowOutside, clipModel, json.Option, report, html.Option }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var dataset = dataArguments.OpenCaptions(parse, parse.GetValue(captions)!, parse.GetValue(allowOutside));
            var pagePath = html.File(parse);
            var options = arguments.Options(parse);
            using var coca = arguments.Load(parse);
            using var clip = parse.GetValue(clipModel) is { } clipPath
                ? VisionLanguageCheckpoint.Load(HuggingFaceCache.ResolveModelPath(clipPath, Environment.GetEnvironmentVariable), new ClipLoadOptions { Device = arguments.ParseDevice(parse) })
                : null;
            var captioner = new Captioner(coca);
            CaptionEvaluationReport result = null!;
            CliProgress.Steps(context, "captioning", report => result = CaptionEvaluation.Evaluate(captioner, dataset, options, clip,
                new CliProgress.SynchronousProgress<int>(done => report(done, dataset.Images.Count, "images"))));
            if (pagePath is not null)
            {
                var pngs = CaptionPage.ModelInputPngs(captioner.ImageProcessor, [.. dataset.Images.Select(image => image.ImagePath)]);
                CaptionPageOption.Write(pagePath, parse.GetValue(arguments.Model)!, options,
                    [.. result.Captions.Zip(pngs, (caption, png) => new CaptionPageRow(png, caption.Generated, caption.References, caption.Image))],
                    $"CIDEr-D {result.Metrics.CiderD:F2}, BLEU-4 {result.Metrics.Bleu4:F2}");
            }
            if (parse.GetValue(report) is { } folder) result.SaveTo(folder);
            foreach (var warning in result.Warnings) context.Error.WriteLine($"warning: {warning}");
            if (json.Write(parse, context, result.ToJson)) return 0;
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
