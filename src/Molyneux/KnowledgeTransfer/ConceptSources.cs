using Molyneux.Evaluation;
using Molyneux.Imaging;
using Molyneux.Worlds;
using Molyneux.Worlds.Emoji;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Turns the <c>images</c> of a concepts file and the <c>--eval</c> reference into image tensors at the
/// model's size: a folder of images, <c>emoji:&lt;short name&gt;</c> (every style's drawing of that emoji), or
/// <c>shapes:&lt;concept&gt;</c> (generated scenes of a shapes-world concept).</summary>
public sealed class ConceptSources(int imageSize, Func<EmojiManifest> emoji, int seed = 0)
{
    public const string EmojiPrefix = "emoji:", ShapesPrefix = "shapes:";
    // 16 choose (validation), 24 report (test) at the default validation fraction.
    private const int ShapesImagesPerConcept = 40;

    // Scenes per class of a shapes reference question: with 9 colours, 216 validation scenes resolve forgetting to
    // half a point, finer than the default 1-point bound.
    private const int ShapesReferencePerClass = 60;

    /// <summary>Whether an <c>images</c> entry names a folder (rather than emoji or shapes-world images).</summary>
    public static bool IsFolder(string spec) =>
        !spec.StartsWith(EmojiPrefix, StringComparison.Ordinal) && !spec.StartsWith(ShapesPrefix, StringComparison.Ordinal);

    /// <summary>Images [N,3,S,S] in [0,1] for a concept's <c>images</c> entry, relative paths resolved against
    /// <paramref name="baseFolder"/>, and where each came from: its file, or <c>shapes:&lt;concept&gt;#i</c> for the
    /// i-th generated scene.</summary>
    public (Tensor Images, IReadOnlyList<string> Sources) Images(string spec, string baseFolder)
    {
        if (spec.StartsWith(EmojiPrefix, StringComparison.Ordinal))
        {
            var manifest = emoji();
            var concept = manifest.Find(spec[EmojiPrefix.Length..]);
            var paths = concept.Images.Values.Select(manifest.ImagePath).ToList();
            return (Load(paths), paths);
        }
        if (spec.StartsWith(ShapesPrefix, StringComparison.Ordinal))
        {
            var world = new ShapesWorld(new ShapesWorldOptions { ImageSize = imageSize });
            var scenes = ShapesSample.Stack(world.GenerateConcept(ShapesConcepts.ByName(spec[ShapesPrefix.Length..]), ShapesImagesPerConcept, seed));
            return (scenes, Enumerable.Range(0, ShapesImagesPerConcept).Select(i => $"{spec}#{i}").ToList());
        }
        var folder = Path.GetFullPath(Path.Combine(baseFolder, spec));
        if (!Directory.Exists(folder)) throw new DatasetException($"{folder}: images folder not found (from \"{spec}\")");
        var files = ImageFiles.InFolder(folder);
        if (files.Count == 0) throw new DatasetException($"{folder}: no images in this folder");
        return (Load(files), files);
    }

    /// <summary>The reference classes for forgetting: an image folder (prompt = class name), <c>emoji</c> (the
    /// held-out style's drawing of every concept pretraining saw, prompt = its label), or <c>shapes:color</c> /
    /// <c>shapes:shape</c> (a shapes-world question).</summary>
    public ReferenceClasses Reference(string spec, IReadOnlyCollection<string> exclude)
    {
        if (spec == "emoji")
        {
            var manifest = emoji();
            var split = EmojiSplits.Split(manifest);
            var samples = split.StyleTest.Where(sample => !exclude.Contains(sample.Concept.Label)).ToList();
            var names = samples.Select(sample => sample.Concept.Label).Distinct().ToList();
            var index = names.Select((name, i) => (name, i)).ToDictionary(pair => pair.name, pair => pair.i);
            return new ReferenceClasses(names, names.Select(name => (IReadOnlyList<string>)[name]).ToList(),
                Load(samples.Select(sample => sample.ImagePath).ToList()), samples.Select(sample => index[sample.Concept.Label]).ToList());
        }
        if (spec.StartsWith(ShapesPrefix, StringComparison.Ordinal))
        {
            var question = spec[ShapesPrefix.Length..] switch
            {
                "color" => ShapesQuestion.Color,
                "shape" => ShapesQuestion.Shape,
                var other => throw new OptionException($"--eval: unknown shapes question '{other}', expected shapes:color or shapes:shape"),
            };
            var set = new ShapesWorld(new ShapesWorldOptions { ImageSize = imageSize }).EvaluationSet(question, ShapesReferencePerClass, seed + 1);
            return new ReferenceClasses(question.DisplayNames, question.Prompts, ShapesSample.Stack(set.Select(e => e.Sample).ToList()),
                set.Select(e => e.Label).ToList());
        }
        var dataset = ImageFolderDataset.Load(spec);
        return new ReferenceClasses(dataset.ClassNames, dataset.ClassNames.Select(name => (IReadOnlyList<string>)[name]).ToList(),
            Load(dataset.Images.Select(image => image.Path).ToList()), dataset.Images.Select(image => image.ClassIndex).ToList());
    }

    private Tensor Load(IReadOnlyList<string> paths) =>
        new ClipImageProcessor(shortestEdge: imageSize, cropHeight: imageSize, cropWidth: imageSize, doNormalize: false).PreprocessFiles(paths);
}
