using Molyneux.Evaluation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Evaluation;

/// <summary>CLIP_benchmark's result JSON (field names, nesting, Python's number formatting), recall@k at any k, and
/// the build step's CSV, on fixtures whose numbers are worked out by hand.</summary>
public sealed class ClipBenchmarkEvaluationTests
{
    private static readonly Dictionary<string, float[]> Words = new()
    {
        ["blue"] = [0, 0, 1], ["green"] = [0, 1, 0], ["red"] = [1, 0, 0],
    };

    /// <summary>Blue 2/2, green 1/1, red 1/2 (its second image is dark blue): top-1 4/5, mean per-class recall
    /// (1 + 1 + 0.5) / 3.</summary>
    private static ClassificationReport ClassifyColours(TestPaths.TempFolder temp)
    {
        var root = temp.File("colours");
        MeanColourImageEncoder.WritePng(Path.Combine(root, "blue", "0.png"), 0, 0, 255);
        MeanColourImageEncoder.WritePng(Path.Combine(root, "blue", "1.png"), 0, 0, 255);
        MeanColourImageEncoder.WritePng(Path.Combine(root, "green", "0.png"), 0, 255, 0);
        MeanColourImageEncoder.WritePng(Path.Combine(root, "red", "0.png"), 255, 0, 0);
        MeanColourImageEncoder.WritePng(Path.Combine(root, "red", "1.png"), 0, 0, 200);
        var options = new ClassificationOptions { Templates = PromptTemplates.Load("a_photo"), Cache = null, ModelPath = "/models/tiny" };
        return Evaluator.EvaluateClassification(new MeanColourImageEncoder(), new WordTableTextEncoder(Words), ImageFolderDataset.Load(root), options);
    }

    [Fact]
    public void Classification_result_is_CLIP_benchmarks_dict_with_the_reports_values()
    {
        using var temp = new TestPaths.TempFolder();
        var report = ClassifyColours(temp);
        Assert.Equal(0.8, report.Metrics.Top1);

        var result = ClipBenchmarkResult.FromClassification(report, "colours", "tiny", "/models/tiny");

        // Exactly what Python's json.dump writes: key order, separators, repr floats, bare NaN for acc5 (3 classes < 5).
        Assert.Equal(
            """{"dataset": "colours", "model": "tiny", "pretrained": "/models/tiny", "task": "zeroshot_classification", "metrics": {"acc1": 0.8, "acc5": NaN, "mean_per_class_recall": 0.8333333333333334}, "language": "en"}""",
            result.ToJson());
        Assert.Equal(report.Metrics.Top1, result["acc1"]);
        Assert.Equal(report.Metrics.MeanPerClassRecall, result["mean_per_class_recall"]);
        Assert.Equal(["acc1", "acc5", "mean_per_class_recall"], result.Metrics.Select(pair => pair.Key));
    }

    [Fact]
    public void Top5_is_kept_from_five_classes_on_and_the_file_reads_back()
    {
        using var temp = new TestPaths.TempFolder();
        var report = ClassifyColours(temp) with { Dataset = new ClassificationDatasetInfo("/data/five", 5, 5), Metrics = new ClassificationMetricsInfo(0.25, 0.75, 0.5) };

        var result = ClipBenchmarkResult.FromClassification(report, "five", "tiny", "/models/tiny");
        var path = temp.File("five.json");
        result.Save(path);

        Assert.Equal(0.75, result["acc5"]);
        using var document = PythonJson.Parse(File.ReadAllText(path), path);
        var metrics = document.RootElement.GetProperty("metrics");
        Assert.Equal(["acc1", "acc5", "mean_per_class_recall"], metrics.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0.75, metrics.GetProperty("acc5").GetDouble());
        Assert.Equal(["dataset", "model", "pretrained", "task", "metrics", "language"], document.RootElement.EnumerateObject().Select(p => p.Name));
    }

    // Images 0, 0, 1, 2 own captions 0..3. Image → text ranks of each image's best own caption: 0, 3, 3.
    // Text → image ranks of each caption's image: 0, 2, 2, 1.
    private static readonly float[] Similarity =
    [
        0.9f, 0.1f, 0.8f, 0.0f,
        0.2f, 0.3f, 0.1f, 0.7f,
        0.5f, 0.6f, 0.4f, 0.3f,
    ];

    [Fact]
    public void Recall_at_any_k_matches_hand_computed_ranks_and_the_fixed_recalls()
    {
        using var similarity = tensor(Similarity, [3, 4]);
        int[] captionImages = [0, 0, 1, 2];

        var recalls = RetrievalMetrics.RecallsAt(similarity, captionImages, [1, 2, 4, 10]);

        Assert.Equal(
            [new RecallAtK(1, 1 / 3.0, 0.25), new RecallAtK(2, 1 / 3.0, 0.5), new RecallAtK(4, 1.0, 1.0), new RecallAtK(10, 1.0, 1.0)],
            recalls);
        var fixedRecalls = RetrievalMetrics.Compute(similarity, captionImages);
        Assert.Equal(fixedRecalls.ImageToTextR1, recalls[0].ImageToText);
        Assert.Equal(fixedRecalls.TextToImageR1, recalls[0].TextToImage);
        Assert.Equal(fixedRecalls.TextToImageR10, recalls[3].TextToImage);
        var error = Assert.Throws<OptionException>(() => RetrievalMetrics.RecallsAt(similarity, captionImages, [0]));
        Assert.Contains("--recall-k", error.Message);
    }

    [Fact]
    public void Retrieval_result_names_text_to_image_image_retrieval_as_CLIP_benchmark_does()
    {
        using var similarity = tensor(Similarity, [3, 4]);
        var report = new RetrievalReport
        {
            CreatedUtc = DateTime.UnixEpoch,
            Model = new ModelInfo("/m", "id", "id"),
            Dataset = new RetrievalDatasetInfo("/data/caps.jsonl", 3, 4),
            Metrics = RetrievalMetrics.Compute(similarity, [0, 0, 1, 2]),
            RecallAtK = RetrievalMetrics.RecallsAt(similarity, [0, 0, 1, 2], [1, 2]),
        };

        var result = ClipBenchmarkResult.FromRetrieval(report, "caps", "m", "/m");

        // CLIP_benchmark: image_retrieval = a text retrieves its image; text_retrieval = an image retrieves its texts.
        Assert.Equal(
            """{"dataset": "caps", "model": "m", "pretrained": "/m", "task": "zeroshot_retrieval", "metrics": {"image_retrieval_recall@1": 0.25, "text_retrieval_recall@1": 0.3333333333333333, "image_retrieval_recall@2": 0.5, "text_retrieval_recall@2": 0.3333333333333333}, "language": "en"}""",
            result.ToJson());
        // A report read back from its file has only the fixed recalls: the result then holds k = 1, 5, 10.
        var readBack = ClipBenchmarkResult.FromRetrieval(report with { RecallAtK = [] }, "caps", "m", "/m");
        Assert.Equal(
            ["image_retrieval_recall@1", "text_retrieval_recall@1", "image_retrieval_recall@5", "text_retrieval_recall@5", "image_retrieval_recall@10", "text_retrieval_recall@10"],
            readBack.Metrics.Select(pair => pair.Key));
        Assert.Equal(0.25, readBack["image_retrieval_recall@1"]);
    }

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e-6, "1e-06")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(123.456, "123.456")]
    [InlineData(-2.5e-7, "-2.5e-07")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(2.0 / 3, "0.6666666666666666")]
    [InlineData(double.NaN, "nan")]
    public void Floats_are_written_as_pythons_repr(double value, string expected) =>
        Assert.Equal(expected, PythonJson.FloatRepr(value));

    [Fact]
    public void Python_json_strings_are_ascii_escaped_and_bare_nan_reads_back()
    {
        var text = PythonJson.Serialize(new KeyValuePair<string, object?>[] { new("name", "café \"NaN\"\n"), new("x", double.NegativeInfinity), new("n", 3L), new("ok", true), new("none", null) });
        Assert.Equal("""{"name": "caf\u00e9 \"NaN\"\n", "x": -Infinity, "n": 3, "ok": true, "none": null}""", text);

        using var document = PythonJson.Parse(text, "inline.json");
        var root = document.RootElement;
        Assert.Equal("café \"NaN\"\n", PythonJson.ToValue(root.GetProperty("name")));
        Assert.Equal(double.NegativeInfinity, PythonJson.ToValue(root.GetProperty("x")));
        Assert.Equal(3L, PythonJson.ToValue(root.GetProperty("n")));
        var error = Assert.Throws<DatasetException>(() => PythonJson.Parse("{\"a\": }", "broken.json"));
        Assert.StartsWith("broken.json: invalid JSON at line 1", error.Message);
    }

    [Fact]
    public void Build_merges_results_into_CLIP_benchmarks_csv()
    {
        using var temp = new TestPaths.TempFolder();
        var classification = ClipBenchmarkResult.FromClassification(ClassifyColours(temp), "colours", "tiny", "/models/tiny");
        classification.Save(temp.File("results/a_classification.json"));
        // As CLIP_benchmark itself writes one, with an extra top-level field.
        File.WriteAllText(temp.File("results/b_retrieval.json"),
            """{"dataset": "flickr, 1k", "model": "ViT-B-32", "pretrained": "laion2b", "task": "zeroshot_retrieval", "metrics": {"image_retrieval_recall@5": 0.5, "text_retrieval_recall@5": 1.0}, "language": "en", "classnames": ["a", "b's"]}""");

        var table = ClipBenchmarkTable.Build([temp.File("results")]);
        var output = temp.File("benchmark.csv");
        table.Save(output);

        Assert.Equal(
            "acc1,acc5,mean_per_class_recall,dataset,model,pretrained,task,language,model_fullname,image_retrieval_recall@5,text_retrieval_recall@5,classnames\r\n" +
            "0.8,nan,0.8333333333333334,colours,tiny,/models/tiny,zeroshot_classification,en,tiny /models/tiny,,,\r\n" +
            ",,,\"flickr, 1k\",ViT-B-32,laion2b,zeroshot_retrieval,en,ViT-B-32 laion2b,0.5,1.0,\"['a', \"\"b's\"\"]\"\r\n",
            File.ReadAllText(output));
    }

    [Fact]
    public void Build_names_a_file_that_is_not_a_result()
    {
        using var temp = new TestPaths.TempFolder();
        File.WriteAllText(temp.File("report.json"), """{"schema_version": 1, "kind": "classification"}""");

        var error = Assert.Throws<DatasetException>(() => ClipBenchmarkTable.Build([temp.File("report.json")]));
        Assert.Equal($"{temp.File("report.json")}: not a CLIP_benchmark result (no \"metrics\" object)", error.Message);
        var missing = Assert.Throws<DatasetException>(() => ClipBenchmarkTable.Build([temp.File("none.json")]));
        Assert.EndsWith("none.json: result file not found", missing.Message);
    }
}
