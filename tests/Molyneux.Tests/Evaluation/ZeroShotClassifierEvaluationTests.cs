using Molyneux.Evaluation;
using static TorchSharp.torch;

namespace Molyneux.Tests.Evaluation;

public class ZeroShotClassifierEvaluationTests
{
    private static readonly Dictionary<string, float[]> Words = new()
    {
        ["cat"] = [1, 0, 0],
        ["dog"] = [0, 1, 0],
        ["photo"] = [0, 0, 1],
        ["sketch"] = [0.5f, 0, -1],
        ["whiskers"] = [0.2f, 0, 0.9f],
        ["fur"] = [0.3f, 0.3f, 0],
        ["tail"] = [0, 2, 1],
    };

    private static readonly float[][] Images = [[0.2f, 0.3f, 0.9f], [1, 0.1f, 0], [0.3f, 0.3f, -0.5f], [0, 0, 0]];

    private static PromptTemplates Templates(TestPaths.TempFolder temp)
    {
        var path = temp.File("templates.txt");
        File.WriteAllText(path, "a photo of a {}.\na sketch of a {}.\n{}\n");
        return PromptTemplates.Load(path);
    }

    private static float[] Unit(float[] v)
    {
        var norm = Math.Max(Math.Sqrt(v.Sum(x => (double)x * x)), 1e-12);
        return v.Select(x => (float)(x / norm)).ToArray();
    }

    private static float Dot(float[] a, float[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static float[,] Direct(IReadOnlyList<IReadOnlyList<string>> prompts, TemplateEnsemble ensemble)
    {
        var result = new float[Images.Length, prompts.Count];
        for (var c = 0; c < prompts.Count; c++)
        {
            var units = prompts[c].Select(text => Unit(WordTableTextEncoder.Embed(Words, text))).ToList();
            var mean = Unit(Enumerable.Range(0, 3).Select(e => units.Average(u => u[e])).ToArray());
            for (var n = 0; n < Images.Length; n++)
            {
                var image = Unit(Images[n]);
                result[n, c] = ensemble == TemplateEnsemble.Mean ? Dot(image, mean) : units.Max(u => Dot(image, u));
            }
        }
        return result;
    }

    private static void AssertScores(float[,] expected, Tensor actual, float scale = 1)
    {
        Assert.Equal([expected.GetLength(0), expected.GetLength(1)], actual.shape);
        var values = actual.data<float>().ToArray();
        for (var n = 0; n < expected.GetLength(0); n++)
            for (var c = 0; c < expected.GetLength(1); c++)
                Assert.Equal(expected[n, c] * scale, values[n * expected.GetLength(1) + c], 4);
    }

    private static Tensor ImageTensor() => tensor(Images.SelectMany(v => v).ToArray(), [Images.Length, 3]);

    [Theory]
    [InlineData(TemplateEnsemble.Mean)]
    [InlineData(TemplateEnsemble.Max)]
    public void Template_ensembling_matches_a_direct_computation(TemplateEnsemble ensemble)
    {
        using var temp = new TestPaths.TempFolder();
        var encoder = new WordTableTextEncoder(Words);
        string[] classes = ["cat", "dog"];
        var prompts = Templates(temp).PromptsFor(classes);

        using var classifier = ZeroShotClassifier.Build(encoder, classes, prompts, ensemble, batchSize: 4);
        using var scores = classifier.Predict(ImageTensor());

        Assert.Equal(["a photo of a cat.", "a sketch of a cat.", "cat", "a photo of a dog.", "a sketch of a dog.", "dog"], encoder.Encoded);
        Assert.Equal(2, encoder.Calls); // six prompts in batches of four
        AssertScores(Direct(prompts, ensemble), scores);
    }

    [Fact]
    public void Mean_and_max_differ_and_logit_scale_multiplies()
    {
        using var temp = new TestPaths.TempFolder();
        string[] classes = ["cat", "dog"];
        var prompts = Templates(temp).PromptsFor(classes);
        var mean = Direct(prompts, TemplateEnsemble.Mean);
        var max = Direct(prompts, TemplateEnsemble.Max);
        // The case is only a test of the ensembling if the two rules disagree.
        Assert.True(Math.Abs(mean[0, 0] - max[0, 0]) > 0.05);

        using var classifier = ZeroShotClassifier.Build(new WordTableTextEncoder(Words), classes, prompts, TemplateEnsemble.Max, logitScale: 100);
        using var scores = classifier.Predict(ImageTensor());
        AssertScores(max, scores, 100);
    }

    [Fact]
    public void Classification_by_description_averages_descriptor_prompts()
    {
        using var temp = new TestPaths.TempFolder();
        var path = temp.File("descriptions.json");
        File.WriteAllText(path, """{ "cat": ["whiskers", "fur"], "dog": ["a tail"], "cow": ["horns"] }""");
        var descriptions = ClassDescriptions.Load(path);
        string[] classes = ["cat", "dog"];

        var prompts = descriptions.PromptsFor(classes, ClassDescriptions.DefaultTemplate);
        Assert.Equal([["cat, which has whiskers", "cat, which has fur"], ["dog, which has a tail"]], prompts);

        using var classifier = ZeroShotClassifier.Build(new WordTableTextEncoder(Words), classes, prompts, TemplateEnsemble.Mean);
        using var scores = classifier.Predict(ImageTensor());
        AssertScores(Direct(prompts, TemplateEnsemble.Mean), scores);

        Assert.Equal([["whiskers: cat"]], descriptions.PromptsFor(["cat"], "{descriptor}: {class}").Select(p => p.Take(1).ToList()));
    }

    [Fact]
    public void Description_errors_name_missing_classes_and_bad_files()
    {
        using var temp = new TestPaths.TempFolder();
        var path = temp.File("descriptions.json");
        File.WriteAllText(path, """{ "cat": ["whiskers"] }""");
        var descriptions = ClassDescriptions.Load(path);

        var missing = Assert.Throws<DatasetException>(() => descriptions.PromptsFor(["cat", "dog", "emu"], ClassDescriptions.DefaultTemplate));
        Assert.Contains("'dog', 'emu'", missing.Message);
        Assert.Contains(path, missing.Message);
        Assert.Throws<OptionException>(() => descriptions.PromptsFor(["cat"], "{class} only"));

        File.WriteAllText(path, """{ "cat": "whiskers" }""");
        Assert.Contains("expected an array", Assert.Throws<DatasetException>(() => ClassDescriptions.Load(path)).Message);
        File.WriteAllText(path, """{ "cat": [] }""");
        Assert.Contains("no descriptors", Assert.Throws<DatasetException>(() => ClassDescriptions.Load(path)).Message);
        File.WriteAllText(path, "{\n\n  \"cat\": [\"a\",\n}");
        Assert.Contains("line", Assert.Throws<DatasetException>(() => ClassDescriptions.Load(path)).Message);
    }
}
