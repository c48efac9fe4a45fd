using Molyneux.Evaluation;
using Molyneux.Imaging;
using Molyneux.KnowledgeTransfer;
using Molyneux.Worlds.Emoji;
using static TorchSharp.torch;

namespace Molyneux.Worlds;

/// <summary>Turns the <c>images</c> of a concepts file and the <c>--eval</c> reference into image tensors at the
/// model's size: a folder of images, <c>emoji:&lt;short name&gt;</c> (every style's drawing of that emoji), or
/// <c>shapes:&lt;concept&gt;</c> (generated scenes of a shapes-world concept).</summary>
public sealed class ConceptSources(int imageSize, Func<EmojiManifest> emoji, int seed = 0)
{
    private const string EmojiPrefix = ConceptsFile.EmojiPrefix, ShapesPrefix = ConceptsFile.ShapesPrefix;
    // 16 choose (validation), 24 report (test) at the default validation fraction.
    private const int ShapesImagesPerConcept = 40;

    // Scenes per class of a shapes reference question: with 9 colours, 216 validation scenes resolve forgetting to
    // half a point, finer than the default 1-point bound.
    private const int ShapesReferencePerClass = 60;

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

    /// <summary>The concepts of a concepts file with their real images (<see cref="Images"/>), which learning needs
    /// of every concept to measure it; relative image paths resolved against <paramref name="baseFolder"/>.</summary>
    public IReadOnlyList<TeachableConcept> Teachable(IReadOnlyList<DescribedConcept> concepts, string baseFolder) => concepts.Select(c =>
    {
        var (images, sourceNames) = Images(c.Images ?? throw new DatasetException(
            $"concept '{c.Name}': no \"images\" to measure it on (learn needs real images of every concept; invert and finetune do not)"), baseFolder);
        return new TeachableConcept(c.Name, c.Descriptions, images, sourceNames);
    }).ToList();

    /// <summary>The reference classes for forgetting: an image folder (prompt = class name), <c>emoji</c> (the
    /// held-out style's drawing of every concept pretraining saw, prompt = its label), or <c>shapes:color</c> /
    /// <c>shapes:shape</c> (a shapes-world question, whose scenes come with five reference captions each for a
    /// captioner's CIDEr-D).</summary>
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
            // Every concept withheld, so that the reference captions describe the scenes and never name a concept
            // (the scenes themselves are drawn the same either way).
            var world = new ShapesWorld(new ShapesWorldOptions { ImageSize = imageSize, Withhold = ShapesConcepts.All });
            var set = world.EvaluationSet(question, ShapesReferencePerClass, seed + 1);
            return new ReferenceClasses(question.DisplayNames, question.Prompts, ShapesSample.Stack(set.Select(e => e.Sample).ToList()),
                set.Select(e => e.Label).ToList(), Captions: set.Select(e => e.Sample.References()).ToList());
        }
        var dataset = ImageFolderDataset.Load(spec);
        return new ReferenceClasses(dataset.ClassNames, dataset.ClassNames.Select(name => (IReadOnlyList<string>)[name]).ToList(),
            Load(dataset.Images.Select(image => image.Path).ToList()), dataset.Images.Select(image => image.ClassIndex).ToList());
    }

    private Tensor Load(IReadOnlyList<string> paths) =>
        new ClipImageProcessor(shortestEdge: imageSize, cropHeight: imageSize, cropWidth: imageSize, doNormalize: false).PreprocessFiles(paths);
}
