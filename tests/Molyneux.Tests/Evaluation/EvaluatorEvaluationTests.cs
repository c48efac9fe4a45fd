using System.Text.Json;
using Molyneux.Evaluation;

namespace Molyneux.Tests.Evaluation;

public class EvaluatorEvaluationTests
{
    private static readonly Dictionary<string, float[]> Colours = new()
    {
        ["red"] = [1, 0, 0],
        ["green"] = [0, 1, 0],
        ["blue"] = [0, 0, 1],
    };

    /// <summary>Records progress synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class ProgressLog : IProgress<EvaluationProgress>
    {
        public List<EvaluationProgress> Reports { get; } = [];

        public void Report(EvaluationProgress value) => Reports.Add(value);
    }

    // Classes sort as blue (0), green (1), red (2); the second green image is mostly blue, so it is misclassified.
    private static string ColourFolder(TestPaths.TempFolder temp)
    {
        var root = temp.File("colours");
        MeanColourImageEncoder.WritePng(Path.Combine(root, "red", "1.png"), 255, 0, 0);
        MeanColourImageEncoder.WritePng(Path.Combine(root, "red", "2.png"), 200, 30, 30);
        MeanColourImageEncoder.WritePng(Path.Combine(root, "green", "1.png"), 0, 255, 0);
        MeanColourImageEncoder.WritePng(Path.Combine(root, "green", "2.png"), 0, 100, 230);
        MeanColourImageEncoder.WritePng(Path.Combine(root, "blue", "1.png"), 0, 0, 255);
        return root;
    }

    private static ClassificationOptions Options(EmbeddingCache? cache) => new()
    {
        ModelPath = "models/fake",
        Templates = PromptTemplates.Load("a_photo"),
        BatchSize = 2,
        Cache = cache,
    };

    [Fact]
    public void Classifies_an_image_folder_end_to_end()
    {
        using var temp = new TestPaths.TempFolder();
        var dataset = ImageFolderDataset.Load(ColourFolder(temp));
        var images = new MeanColourImageEncoder("image-id");
        var texts = new WordTableTextEncoder(Colours, "text-id");
        var progress = new ProgressLog();

        var report = Evaluator.EvaluateClassification(images, texts, dataset, Options(cache: null), progress);

        Assert.Equal(["a photo of a blue.", "a photo of a green.", "a photo of a red."], texts.Encoded);
        Assert.Equal(3, images.Calls); // five images in batches of two
        Assert.Equal(
            [
                new EvaluationProgress(EvaluationStage.EncodingTexts, 2, 3), new EvaluationProgress(EvaluationStage.EncodingTexts, 3, 3),
                new EvaluationProgress(EvaluationStage.EncodingImages, 2, 5), new EvaluationProgress(EvaluationStage.EncodingImages, 4, 5),
                new EvaluationProgress(EvaluationStage.EncodingImages, 5, 5),
            ],
            progress.Reports);

        Assert.Equal("classification", report.Kind);
        Assert.Equal(new ModelInfo("models/fake", "image-id", "text-id"), report.Model);
        Assert.Equal(new ClassificationDatasetInfo(dataset.Location, 5, 3), report.Dataset);
        Assert.Equal(new ClassificationMetricsInfo(4.0 / 5, 1.0, (1 + 0.5 + 1) / 3.0), report.Metrics);
        Assert.Equal([new ClassAccuracy("blue", 1, 1, 1.0), new ClassAccuracy("green", 2, 1, 0.5), new ClassAccuracy("red", 2, 2, 1.0)], report.PerClass);
        Assert.Equal([new ConfusedPair("green", "blue", 1)], report.MostConfused);
        Assert.Equal("a_photo", report.Options.Templates);
        Assert.Equal(1, report.Options.NumTemplates);
        Assert.Null(report.Options.DescriptionsFile);
    }

    [Fact]
    public void Class_selection_and_descriptions_reach_the_report()
    {
        using var temp = new TestPaths.TempFolder();
        var dataset = ImageFolderDataset.Load(ColourFolder(temp));
        var descriptions = temp.File("descriptions.json");
        File.WriteAllText(descriptions, """{ "crimson": ["red"], "leafy": ["green"] }""");
        var texts = new WordTableTextEncoder(Colours);

        var report = Evaluator.EvaluateClassification(new MeanColourImageEncoder(), texts, dataset, Options(cache: null) with
        {
            Classes = ClassSelection.Parse(["red=crimson", "green=leafy"]),
            Descriptions = ClassDescriptions.Load(descriptions),
            Ensemble = TemplateEnsemble.Max,
        });

        Assert.Equal(["crimson, which has red", "leafy, which has green"], texts.Encoded);
        Assert.Equal(new ClassificationDatasetInfo(dataset.Location, 4, 2), report.Dataset);
        Assert.Equal(new ClassificationOptionsInfo(null, null, TemplateEnsemble.Max, descriptions, ClassDescriptions.DefaultTemplate, null, null, 20), report.Options with { Classes = null });
        Assert.Equal(["red=crimson", "green=leafy"], report.Options.Classes);
        // The blue-ish green image is still nearer green than red.
        Assert.Equal(1.0, report.Metrics.Top1);
    }

    [Fact]
    public void Cache_hit_avoids_encoding_and_a_changed_image_invalidates_it()
    {
        using var temp = new TestPaths.TempFolder();
        var root = ColourFolder(temp);
        var cache = new EmbeddingCache(temp.File("cache"));

        var first = Evaluator.EvaluateClassification(new MeanColourImageEncoder(), new WordTableTextEncoder(Colours), ImageFolderDataset.Load(root), Options(cache));

        var images = new MeanColourImageEncoder();
        var texts = new WordTableTextEncoder(Colours);
        var progress = new ProgressLog();
        var second = Evaluator.EvaluateClassification(images, texts, ImageFolderDataset.Load(root), Options(cache), progress);
        Assert.Equal(0, images.Calls);
        Assert.Equal(0, texts.Calls);
        Assert.Equal(first.Metrics, second.Metrics);
        Assert.Equal([new EvaluationProgress(EvaluationStage.EncodingTexts, 3, 3), new EvaluationProgress(EvaluationStage.EncodingImages, 5, 5)], progress.Reports);

        // Repaint the misclassified image green: images are encoded again (and the result changes); prompts are not.
        MeanColourImageEncoder.WritePng(Path.Combine(root, "green", "2.png"), 0, 250, 0);
        var third = Evaluator.EvaluateClassification(images, texts, ImageFolderDataset.Load(root), Options(cache));
        Assert.Equal(5, images.Encoded.Count);
        Assert.Equal(0, texts.Calls);
        Assert.Equal(1.0, third.Metrics.Top1);

        // Another encoder identity is another key.
        var otherImages = new MeanColourImageEncoder("other-weights");
        Evaluator.EvaluateClassification(otherImages, texts, ImageFolderDataset.Load(root), Options(cache));
        Assert.Equal(5, otherImages.Encoded.Count);
    }

    private static CaptionsDataset Captions(TestPaths.TempFolder temp)
    {
        MeanColourImageEncoder.WritePng(temp.File("data/red.png"), 255, 0, 0);
        MeanColourImageEncoder.WritePng(temp.File("data/green.png"), 0, 255, 0);
        MeanColourImageEncoder.WritePng(temp.File("data/blue.png"), 0, 0, 255);
        File.WriteAllLines(temp.File("data/captions.jsonl"),
        [
            """{"image": "red.png", "captions": ["a red door", "red paint"]}""",
            """{"image": "green.png", "captions": ["blue water"]}""",
            """{"image": "blue.png", "captions": ["blue sky", "a blue sea"]}""",
        ]);
        return CaptionsDataset.Load(temp.File("data/captions.jsonl"));
    }

    [Fact]
    public void Retrieves_captions_end_to_end()
    {
        using var temp = new TestPaths.TempFolder();
        var dataset = Captions(temp);

        var report = Evaluator.EvaluateRetrieval(new MeanColourImageEncoder(), new WordTableTextEncoder(Colours), dataset, new RetrievalOptions { Cache = null });

        // The green image's only caption (index 2) says blue. Against the green image every caption scores 0, so its
        // caption ranks third; against the blue image "blue water" ties the blue image's own captions and, having the
        // lowest index, ranks first. Only the red image is a hit at 1. Text to image, "blue water" retrieves the blue
        // image; the other four captions retrieve their own.
        Assert.Equal(new RetrievalMetrics(1.0 / 3, 1, 1, 4.0 / 5, 1, 1), report.Metrics);
        Assert.Equal(new RetrievalDatasetInfo(dataset.Location, 3, 5), report.Dataset);
        Assert.Equal("retrieval", report.Kind);
    }

    [Fact]
    public void Reports_round_trip_with_the_documented_snake_case_fields()
    {
        using var temp = new TestPaths.TempFolder();
        var classification = Evaluator.EvaluateClassification(
            new MeanColourImageEncoder(), new WordTableTextEncoder(Colours), ImageFolderDataset.Load(ColourFolder(temp)), Options(cache: null));
        var retrieval = Evaluator.EvaluateRetrieval(
            new MeanColourImageEncoder(), new WordTableTextEncoder(Colours), Captions(temp), new RetrievalOptions { ModelPath = "m", Cache = null });

        classification.Save(temp.File("out/classification.json"));
        retrieval.Save(temp.File("out/retrieval.json"));
        var loadedClassification = Assert.IsType<ClassificationReport>(EvaluationReport.Load(temp.File("out/classification.json")));
        var loadedRetrieval = Assert.IsType<RetrievalReport>(EvaluationReport.Load(temp.File("out/retrieval.json")));

        Assert.Equal(classification.CreatedUtc, loadedClassification.CreatedUtc);
        Assert.Equal(DateTimeKind.Utc, loadedClassification.CreatedUtc.Kind);
        Assert.Equal(classification.Model, loadedClassification.Model);
        Assert.Equal(classification.Dataset, loadedClassification.Dataset);
        Assert.Equal(classification.Metrics, loadedClassification.Metrics);
        Assert.Equal(classification.PerClass, loadedClassification.PerClass);
        Assert.Equal(classification.MostConfused, loadedClassification.MostConfused);
        Assert.Equal(classification.Options, loadedClassification.Options); // Classes is null here, so record equality holds
        Assert.Equal(retrieval, loadedRetrieval);

        using var json = JsonDocument.Parse(File.ReadAllText(temp.File("out/classification.json")));
        var root = json.RootElement;
        Assert.Equal(
            ["schema_version", "kind", "created_utc", "model", "dataset", "options", "metrics", "per_class", "most_confused", "asif", "environment"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("asif").ValueKind);
        Assert.Equal(1, root.GetProperty("schema_version").GetInt32());
        Assert.Equal("classification", root.GetProperty("kind").GetString());
        Assert.EndsWith("Z", root.GetProperty("created_utc").GetString());
        Assert.Equal(["path", "image_identity", "text_identity"], root.GetProperty("model").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["path", "num_images", "num_classes"], root.GetProperty("dataset").EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            ["templates", "num_templates", "ensemble", "descriptions_file", "descriptor_template", "classes", "logit_scale", "most_confused_limit"],
            root.GetProperty("options").EnumerateObject().Select(p => p.Name));
        Assert.Equal("mean", root.GetProperty("options").GetProperty("ensemble").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("options").GetProperty("descriptions_file").ValueKind);
        Assert.Equal(["top1", "top5", "mean_per_class_recall"], root.GetProperty("metrics").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["class_name", "count", "correct", "accuracy"], root.GetProperty("per_class")[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(["true_class", "predicted_class", "count"], root.GetProperty("most_confused")[0].EnumerateObject().Select(p => p.Name));

        using var retrievalJson = JsonDocument.Parse(File.ReadAllText(temp.File("out/retrieval.json")));
        Assert.Equal(
            ["schema_version", "kind", "created_utc", "model", "dataset", "metrics", "environment"],
            retrievalJson.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["path", "num_images", "num_captions"], retrievalJson.RootElement.GetProperty("dataset").EnumerateObject().Select(p => p.Name));
        Assert.Equal(
            ["image_to_text_r1", "image_to_text_r5", "image_to_text_r10", "text_to_image_r1", "text_to_image_r5", "text_to_image_r10"],
            retrievalJson.RootElement.GetProperty("metrics").EnumerateObject().Select(p => p.Name));

        // Every field written is documented, under its full name (model.path, per_class[].accuracy).
        var documentation = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "docs", "evaluation-report.md"));
        foreach (var name in FieldNames(root, "").Concat(FieldNames(retrievalJson.RootElement, "")).Distinct())
            Assert.Contains($"`{name}`", documentation);
    }

    [Fact]
    public void Loading_rejects_unknown_kinds_and_versions()
    {
        using var temp = new TestPaths.TempFolder();
        var path = temp.File("report.json");
        File.WriteAllText(path, """{ "schema_version": 1, "kind": "detection" }""");
        Assert.Contains("unknown report kind 'detection'", Assert.Throws<DatasetException>(() => EvaluationReport.Load(path)).Message);
        File.WriteAllText(path, """{ "schema_version": 2, "kind": "retrieval" }""");
        Assert.Contains("schema_version", Assert.Throws<DatasetException>(() => EvaluationReport.Load(path)).Message);
        File.WriteAllText(path, """{ "schema_version": 1, "kind": "retrieval" }""");
        Assert.Throws<DatasetException>(() => EvaluationReport.Load(path));
    }

    /// <summary>Dotted names of every field below <paramref name="element"/>; array items add "[]".</summary>
    private static IEnumerable<string> FieldNames(JsonElement element, string path) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p =>
        {
            var name = path.Length == 0 ? p.Name : $"{path}.{p.Name}";
            return FieldNames(p.Value, name).Prepend(name);
        }),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(item => FieldNames(item, path + "[]")),
        _ => [],
    };
}
