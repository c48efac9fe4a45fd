using System.Text.Json;
using Molyneux.Evaluation;
using Molyneux.Imaging;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

/// <summary><c>eval classify|retrieve|linear-probe --format clip_benchmark</c> and <c>eval build</c> through the real
/// CLI with the golden model A: the CLIP_benchmark files hold exactly CLIP_benchmark's keys and the same numbers as
/// Molyneux's own reports of the same runs.</summary>
public sealed class EvalClipBenchmarkCommandTests
{
    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    private static readonly (string Folder, float[] Rgb)[] Colors =
    [
        ("blue", [0f, 0f, 1f]), ("green", [0f, 0.8f, 0f]), ("red", [1f, 0f, 0f]),
    ];

    private static void WriteImage(string path, float[] rgb, int variant) =>
        ImageDecoder.SavePng(path, ones(3, 32, 32) * tensor(rgb).view(3, 1, 1) * (1f - 0.1f * (variant % 4)) + 0.05f * (variant % 3) * rand(3, 32, 32, generator: new Generator((ulong)variant + 11)));

    private static string WriteImageFolder(TestPaths.TempFolder folder, string name, int perClass, int firstVariant = 0)
    {
        var root = folder.File(name);
        foreach (var (colour, rgb) in Colors)
            for (var i = 0; i < perClass; i++)
                WriteImage(Path.Combine(root, colour, $"{i}.png"), rgb, firstVariant + i);
        return root;
    }

    private static JsonElement ReadPython(string path)
    {
        using var document = PythonJson.Parse(File.ReadAllText(path), path);
        return document.RootElement.Clone();
    }

    [Fact]
    public void Classify_in_clip_benchmark_format_matches_the_molyneux_report()
    {
        using var folder = new TestPaths.TempFolder();
        var root = WriteImageFolder(folder, "colours", 2);
        var cache = folder.File("cache");
        var molyneux = CliRunner.Run("eval", "classify", "--model", ModelA, "--data", root, "--templates", "a_photo", "--json", folder.File("report.json"), "--cache", cache);
        Assert.True(molyneux.ExitCode == 0, molyneux.Error);
        var clipBenchmark = CliRunner.Run("eval", "classify", "--model", ModelA, "--data", root, "--templates", "a_photo", "--json", folder.File("result.json"), "--cache", cache,
            "--format", "clip_benchmark", "--model-name", "model_a");
        Assert.True(clipBenchmark.ExitCode == 0, clipBenchmark.Error);

        var report = Assert.IsType<ClassificationReport>(EvaluationReport.Load(folder.File("report.json")));
        Assert.Equal(("cpu", "float32"), (report.Environment!.Device, report.Environment.DType));
        var result = ReadPython(folder.File("result.json"));
        Assert.Equal(["dataset", "model", "pretrained", "task", "metrics", "language"], result.EnumerateObject().Select(p => p.Name));
        Assert.Equal("colours", result.GetProperty("dataset").GetString());
        Assert.Equal("model_a", result.GetProperty("model").GetString());
        Assert.Equal(ModelA, result.GetProperty("pretrained").GetString());
        Assert.Equal("zeroshot_classification", result.GetProperty("task").GetString());
        Assert.Equal("en", result.GetProperty("language").GetString());
        var metrics = result.GetProperty("metrics");
        Assert.Equal(["acc1", "acc5", "mean_per_class_recall"], metrics.EnumerateObject().Select(p => p.Name));
        Assert.Equal(report.Metrics.Top1, metrics.GetProperty("acc1").GetDouble());
        Assert.Equal(report.Metrics.MeanPerClassRecall, metrics.GetProperty("mean_per_class_recall").GetDouble());
        Assert.True(double.IsNaN(PythonJson.ReadNumber(metrics.GetProperty("acc5"))!.Value), "3 classes: CLIP_benchmark writes acc5 as NaN");
    }

    [Fact]
    public void Retrieve_in_clip_benchmark_format_writes_recall_at_each_requested_k_matching_the_report()
    {
        using var folder = new TestPaths.TempFolder();
        var lines = new List<string>();
        foreach (var (colour, rgb) in Colors)
        {
            WriteImage(folder.File($"img/{colour}.png"), rgb, 0);
            lines.Add(JsonSerializer.Serialize(new { image = $"img/{colour}.png", captions = new[] { $"a {colour} square", $"something {colour}" } }));
        }
        File.WriteAllLines(folder.File("flickr.jsonl"), lines);
        var cache = folder.File("cache");

        var molyneux = CliRunner.Run("eval", "retrieve", "--model", ModelA, "--captions", folder.File("flickr.jsonl"), "--json", folder.File("report.json"), "--cache", cache);
        Assert.True(molyneux.ExitCode == 0, molyneux.Error);
        var clipBenchmark = CliRunner.Run("eval", "retrieve", "--model", ModelA, "--captions", folder.File("flickr.jsonl"), "--recall-k", "1,5", "--json", folder.File("result.json"), "--cache", cache,
            "--format", "clip_benchmark");
        Assert.True(clipBenchmark.ExitCode == 0, clipBenchmark.Error);

        var report = Assert.IsType<RetrievalReport>(EvaluationReport.Load(folder.File("report.json")));
        var result = ReadPython(folder.File("result.json"));
        Assert.Equal("flickr", result.GetProperty("dataset").GetString());
        Assert.Equal("hf", result.GetProperty("model").GetString());
        Assert.Equal("zeroshot_retrieval", result.GetProperty("task").GetString());
        var metrics = result.GetProperty("metrics");
        Assert.Equal(["image_retrieval_recall@1", "text_retrieval_recall@1", "image_retrieval_recall@5", "text_retrieval_recall@5"], metrics.EnumerateObject().Select(p => p.Name));
        // CLIP_benchmark's image retrieval is text → image.
        Assert.Equal(report.Metrics.TextToImageR1, metrics.GetProperty("image_retrieval_recall@1").GetDouble());
        Assert.Equal(report.Metrics.ImageToTextR1, metrics.GetProperty("text_retrieval_recall@1").GetDouble());
        Assert.Equal(report.Metrics.TextToImageR5, metrics.GetProperty("image_retrieval_recall@5").GetDouble());
        Assert.Equal(report.Metrics.ImageToTextR5, metrics.GetProperty("text_retrieval_recall@5").GetDouble());
    }

    [Fact]
    public void Linear_probe_on_model_a_features_separates_the_colours_and_build_merges_the_results()
    {
        using var folder = new TestPaths.TempFolder();
        var train = WriteImageFolder(folder, "train", 5);
        var test = WriteImageFolder(folder, "test", 2, firstVariant: 5);
        var cache = folder.File("cache");
        string[] probe = ["eval", "linear-probe", "--model", ModelA, "--train", train, "--test", test, "--steps", "150", "--weight-decays", "1e-6,1e-4,1e-2,1", "--cache", cache];

        var molyneux = CliRunner.Run([.. probe, "--json", folder.File("report.json")]);
        Assert.True(molyneux.ExitCode == 0, molyneux.Error);
        var clipBenchmark = CliRunner.Run([.. probe, "--json", folder.File("results/probe.json"), "--format", "clip_benchmark", "--dataset-name", "colours"]);
        Assert.True(clipBenchmark.ExitCode == 0, clipBenchmark.Error);

        var report = Assert.IsType<LinearProbeReport>(EvaluationReport.Load(folder.File("report.json")));
        Assert.Equal(1.0, report.Metrics.Top1);
        Assert.Equal((12, 3, 6, 3), (report.Dataset.NumTrain, report.Dataset.NumValidation, report.Dataset.NumTest, report.Dataset.NumClasses));
        var result = ReadPython(folder.File("results/probe.json"));
        Assert.Equal("linear_probe", result.GetProperty("task").GetString());
        var metrics = result.GetProperty("metrics");
        Assert.Equal(report.Metrics.Top1, metrics.GetProperty("lp_acc1").GetDouble());
        Assert.Equal(report.WeightDecay, metrics.GetProperty("weight_decay").GetDouble());
        Assert.Equal(150, metrics.GetProperty("epochs").GetInt32());
        Assert.Contains("weight decay", molyneux.Output);

        var build = CliRunner.Run("eval", "build", folder.File("results/probe.json"), "--out", folder.File("benchmark.csv"));
        Assert.True(build.ExitCode == 0, build.Error);
        var csv = File.ReadAllLines(folder.File("benchmark.csv"));
        Assert.Equal("lp_acc1,lp_acc5,lp_mean_per_class_recall,weight_decay,epochs,seed,fewshot_k,normalized,dataset,model,pretrained,task,language,model_fullname", csv[0]);
        Assert.StartsWith("1.0,nan,1.0,", csv[1]);
        Assert.EndsWith($",150,0,-1,True,colours,hf,{ModelA},linear_probe,en,hf {ModelA}", csv[1]);
    }

    [Fact]
    public void Linear_probe_reads_the_splits_of_one_dataset_as_it_reads_two_folders()
    {
        using var folder = new TestPaths.TempFolder();
        var twoFolders = (Train: WriteImageFolder(folder, "apart/train", 5), Test: WriteImageFolder(folder, "apart/test", 2, firstVariant: 5));
        var oneDataset = Path.GetDirectoryName(twoFolders.Train)!;
        string[] common = ["eval", "linear-probe", "--model", ModelA, "--steps", "100", "--weight-decays", "1e-4,1", "--no-cache"];

        var apart = CliRunner.Run([.. common, "--train", twoFolders.Train, "--test", twoFolders.Test, "--json", folder.File("apart.json")]);
        Assert.True(apart.ExitCode == 0, apart.Error);
        var splits = CliRunner.Run([.. common, "--train", oneDataset, "--train-split", "train", "--test", oneDataset, "--test-split", "test", "--json", folder.File("splits.json")]);
        Assert.True(splits.ExitCode == 0, splits.Error);

        var (fromFolders, fromSplits) = ((LinearProbeReport)EvaluationReport.Load(folder.File("apart.json")), (LinearProbeReport)EvaluationReport.Load(folder.File("splits.json")));
        Assert.Equal(fromFolders.Metrics, fromSplits.Metrics);
        Assert.Equal((fromFolders.Dataset.NumTrain, fromFolders.Dataset.NumTest), (fromSplits.Dataset.NumTrain, fromSplits.Dataset.NumTest));
        var noSplit = CliRunner.Run([.. common, "--train", oneDataset, "--test", twoFolders.Test]);
        Assert.Equal(1, noSplit.ExitCode);
        Assert.Contains("split", noSplit.Error);
    }

    [Fact]
    public void Clip_benchmark_format_needs_a_json_file_and_recall_k_positive_integers()
    {
        using var folder = new TestPaths.TempFolder();
        var root = WriteImageFolder(folder, "colours", 1);
        var noJson = CliRunner.Run("eval", "classify", "--model", ModelA, "--data", root, "--format", "clip_benchmark", "--no-cache");
        Assert.NotEqual(0, noJson.ExitCode);
        Assert.Contains("--format clip_benchmark: also give --json FILE", noJson.Error);

        File.WriteAllText(folder.File("c.jsonl"), JsonSerializer.Serialize(new { image = "colours/red/0.png", captions = new[] { "red" } }) + "\n");
        var badK = CliRunner.Run("eval", "retrieve", "--model", ModelA, "--captions", folder.File("c.jsonl"), "--recall-k", "1,0", "--no-cache");
        Assert.NotEqual(0, badK.ExitCode);
        Assert.Contains("--recall-k: '0' is not a positive integer", badK.Error);
    }
}
