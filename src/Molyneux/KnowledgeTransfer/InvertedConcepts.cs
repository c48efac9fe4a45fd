using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>One inverted image: its PNG, relative to the folder (null for partial inversion's features, which are no
/// picture), and the description it was inverted from.</summary>
public sealed record InvertedImage(string? Path, string Description);

/// <summary>A concept in an inverted-images folder: its name, its descriptions, and its images in order.</summary>
public sealed record InvertedConcept(string Name, IReadOnlyList<string> Descriptions, IReadOnlyList<InvertedImage> Images);

/// <summary>The folder <c>molyneux invert</c> writes and <c>molyneux finetune</c> reads (format in
/// docs/concepts-file.md): <see cref="ManifestFile"/> names the concepts and their images,
/// <see cref="ImagesFile"/> holds the images exactly as optimised (float32 [N, 3, S, S] in [0, 1], concept by concept,
/// in the manifest's order), and beside them one PNG per image, the contact sheet and the loss curve, for people.
/// Fine-tuning reads the safetensors file, not the PNGs, which round pixels to 8 bits. After partial inversion
/// (<see cref="FromLayer"/>) the file holds the token features [N, tokens, width] entering that vision encoder layer,
/// and there are no PNGs.</summary>
public sealed class InvertedConcepts : IDisposable
{
    public const string ManifestFile = "inverted.json", ImagesFile = "images.safetensors";
    private const int SchemaVersion = 1;

    private InvertedConcepts(string folder, Manifest manifest, Tensor images) => (Folder, this.manifest, Images) = (folder, manifest, images);

    public string Folder { get; }

    private readonly Manifest manifest;

    public IReadOnlyList<InvertedConcept> Concepts => manifest.Concepts;

    /// <summary>The SHA-256 identity of the model the images were inverted from (<see cref="Modeling.IVisionLanguageModel.Identity"/>).</summary>
    public string ModelIdentity => manifest.ModelIdentity;

    /// <summary>[N, 3, S, S] float32 in [0, 1], on the CPU; with <see cref="FromLayer"/>, features [N, tokens, width].</summary>
    public Tensor Images { get; }

    /// <summary>The vision encoder layer the features enter, after partial inversion; null for images.</summary>
    public int? FromLayer => manifest.FromLayer;

    /// <summary>The concepts as fine-tuning captions them, each image with its own description.</summary>
    public IReadOnlyList<CaptionedConcept> Captioned =>
        Concepts.Select(concept => new CaptionedConcept(concept.Name, concept.Images.Select(image => image.Description).ToList())).ToList();

    /// <summary>The images as <see cref="ConceptLearner.Learn(Func{Modeling.IVisionLanguageModel}, IReadOnlyList{TeachableConcept}, ReferenceClasses, InversionResult?, IReadOnlyList{int}?)"/> takes them instead of inverting again, after checking
    /// that they were inverted for these concepts: the same names in the same order, the same number of images each,
    /// and image i of a concept inverted from the description <see cref="DescribedConcept.OfImage"/> deals it.</summary>
    /// <returns>A copy of the images (the caller owns it, with no loss curve) and the images per concept.</returns>
    public (InversionResult Inversion, int ImagesPerConcept) For(IReadOnlyList<TeachableConcept> concepts)
    {
        if (FromLayer is { } layer)
            throw new DatasetException($"{Folder}: holds partial inversion's features entering layer {layer}, not images; learn fine-tunes on images " +
                                       "(train on features with molyneux finetune)");
        var (held, wanted) = (Concepts.Select(c => c.Name).ToList(), concepts.Select(c => c.Name).ToList());
        if (!held.SequenceEqual(wanted))
            throw new DatasetException($"{Folder}: holds the concepts {string.Join(", ", held)}, but the concepts file lists {string.Join(", ", wanted)}; " +
                                       "invert with the same concepts file");
        var perConcept = Concepts[0].Images.Count;
        if (Concepts.Any(concept => concept.Images.Count != perConcept))
            throw new DatasetException($"{Folder}: its concepts have different numbers of images ({string.Join(", ", Concepts.Select(c => c.Images.Count))}); learn needs the same number for each");
        foreach (var (concept, c) in concepts.Select((concept, c) => (concept, c)))
        for (var i = 0; i < perConcept; i++)
        {
            var (was, expected) = (Concepts[c].Images[i].Description, DescribedConcept.OfImage(concept.Descriptions, i));
            if (was != expected)
                throw new DatasetException($"{Folder}: image {i} of '{concept.Name}' was inverted from \"{was}\", but the concepts file describes it as \"{expected}\"; " +
                                           "invert again with this concepts file");
        }
        return (new InversionResult(Images.clone(), [], null), perConcept);
    }

    /// <summary>Warns when these images were inverted from another model than the one about to be trained on them:
    /// allowed (a copy of the same weights saved elsewhere has another identity), but rarely meant.</summary>
    /// <param name="modelIdentity">The identity of the model about to be trained.</param>
    /// <param name="warnings">Where the warning goes.</param>
    public void WarnIfInvertedFromAnother(string modelIdentity, IProgress<string>? warnings)
    {
        if (ModelIdentity != modelIdentity)
            warnings?.Report($"{Folder} was inverted from another model (sha256 {ModelIdentity[..12]}…), not this one ({modelIdentity[..12]}…)");
    }

    /// <summary><c>learn --inverted</c>: the images <c>molyneux invert</c> saved in <paramref name="folder"/> for these
    /// concepts (<see cref="For"/>'s checks), and how many per concept fine-tuning gets — those <c>--select inverted</c>
    /// holds out excluded; a warning when they were inverted from another model than <paramref name="modelIdentity"/>.</summary>
    /// <param name="folder">What <c>molyneux invert</c> wrote.</param>
    /// <param name="options">The run's options (the selection, the images it holds out).</param>
    /// <param name="modelIdentity">The identity of the model about to be taught.</param>
    /// <param name="concepts">The concepts, in the concepts file's order.</param>
    /// <param name="warnings">Where the warning goes.</param>
    /// <exception cref="OptionException">The held-out images leave none to fine-tune on.</exception>
    public static (InversionResult Inversion, int ImagesPerConcept) ForLearning(string folder, LearnOptions options, string modelIdentity,
        IReadOnlyList<TeachableConcept> concepts, IProgress<string>? warnings = null)
    {
        using var inverted = Load(folder);
        inverted.WarnIfInvertedFromAnother(modelIdentity, warnings);
        var heldOut = options.Selection == TrialSelection.Inverted ? options.HeldOutInvertedPerConcept : 0;
        var (inversion, count) = inverted.For(concepts);
        if (count > heldOut) return (inversion, count - heldOut);
        inversion.Dispose();
        throw new OptionException($"--inverted: {folder} has {count} images per concept; --select inverted holds {heldOut} of them out, which leaves none to fine-tune on");
    }

    /// <summary>Fills <paramref name="folder"/> (which the caller creates atomically) with an inversion's result:
    /// image <c>i</c> of concept <c>c</c> is row <c>c·imagesPerConcept + i</c>, inverted from
    /// <see cref="DescribedConcept.OfImage"/>.</summary>
    public static void Write(string folder, InversionResult result, IReadOnlyList<DescribedConcept> concepts, int imagesPerConcept,
        string modelIdentity, InversionOptions options, RunEnvironment? environment = null)
    {
        var folders = FolderNames(concepts.Select(concept => concept.Name).ToList());
        var fromLayer = options.Partial?.Layer;
        var entries = concepts.Select((concept, c) => new InvertedConcept(concept.Name, concept.Descriptions,
            Enumerable.Range(0, imagesPerConcept)
                .Select(i => new InvertedImage(fromLayer is null ? $"{folders[c]}/{i:D3}.png" : null, DescribedConcept.OfImage(concept.Descriptions, i))).ToList())).ToList();
        var images = result.Inverted;
        if (fromLayer is null)
        {
            for (var row = 0; row < concepts.Count * imagesPerConcept; row++)
            {
                using var image = images[row];
                ImageDecoder.SavePng(Path.Combine(folder, entries[row / imagesPerConcept].Images[row % imagesPerConcept].Path!), image);
            }
            result.SaveContactSheet(Path.Combine(folder, InversionResult.ContactSheetFile), imagesPerConcept);
        }
        result.SaveLossCurve(Path.Combine(folder, InversionResult.LossCurveFile));
        SafetensorsFile.Write(Path.Combine(folder, ImagesFile), [new("images", images)]);
        var manifest = new Manifest(SchemaVersion, modelIdentity, fromLayer is null ? (int)images.shape[^1] : 0, options.Steps, options.AugmentedCopies, options.Seed,
            entries, fromLayer, environment);
        AtomicFile.WriteAllText(Path.Combine(folder, ManifestFile), JsonSerializer.Serialize(manifest, SnakeCaseJson.Strict) + "\n");
    }

    public static InvertedConcepts Load(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DatasetException($"{folder}: no such folder (expected one written by molyneux invert)");
        var manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath))
            throw new DatasetException($"{folder}: no {ManifestFile} in this folder; is it a folder written by molyneux invert?");
        Manifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath), SnakeCaseJson.Strict)
                       ?? throw new DatasetException($"{manifestPath}: empty");
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{manifestPath}: not a valid manifest of inverted images ({e.Message})", e);
        }
        if (manifest.SchemaVersion != SchemaVersion)
            throw new DatasetException($"{manifestPath}: schema version {manifest.SchemaVersion}, expected {SchemaVersion}");
        if (manifest.Concepts.Count == 0 || manifest.Concepts.Any(concept => string.IsNullOrWhiteSpace(concept.Name) || concept.Images.Count == 0))
            throw new DatasetException($"{manifestPath}: every concept needs a name and at least one image, and there must be a concept");

        var count = manifest.Concepts.Sum(concept => concept.Images.Count);
        using var file = SafetensorsFile.Open(Path.Combine(folder, ImagesFile));
        var images = file.Read("images");
        var matches = manifest.FromLayer is null
            ? images.dim() == 4 && images.shape[0] == count && images.shape[1] == 3 && images.shape[2] == manifest.ImageSize && images.shape[3] == manifest.ImageSize
            : images.dim() == 3 && images.shape[0] == count;
        if (!matches)
        {
            var shape = string.Join(", ", images.shape);
            images.Dispose();
            throw new DatasetException(manifest.FromLayer is null
                ? $"{file.Path}: images [{shape}] do not match the manifest's {count} images of {manifest.ImageSize}×{manifest.ImageSize} pixels"
                : $"{file.Path}: features [{shape}] do not match the manifest's {count} feature maps [tokens, width] entering layer {manifest.FromLayer}");
        }
        return new InvertedConcepts(folder, manifest, images);
    }

    /// <summary>A folder name per concept: its name with characters no file name may hold replaced, made unique
    /// ignoring case (file systems may), and never hidden.</summary>
    public static IReadOnlyList<string> FolderNames(IReadOnlyList<string> conceptNames)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return conceptNames.Select((conceptName, c) =>
        {
            var name = new string(conceptName.Trim().Select(ch => invalid.Contains(ch) || char.IsControl(ch) ? '_' : ch).ToArray()).TrimStart('.');
            return used.Add(name) && name.Length > 0 ? name : $"concept{c:D3}";
        }).ToList();
    }

    public void Dispose() => Images.Dispose();

    /// <summary>inverted.json: what was inverted, from which model, under which settings.</summary>
    /// <param name="ImageSize">The images' side in pixels; 0 for features.</param>
    /// <param name="FromLayer">The vision encoder layer partial inversion's features enter; absent for images.</param>
    /// <param name="SchemaVersion">The layout version of inverted.json, so that a reader can refuse one it does not know.</param>
    /// <param name="ModelIdentity">The model the images were inverted from: images inverted from another model do not fit.</param>
    /// <param name="Steps">Optimization steps per image.</param>
    /// <param name="AugmentedCopies">Augmented copies of each image whose features were matched at every step.</param>
    /// <param name="Seed">The seed of the initial noise and the augmentations.</param>
    /// <param name="Concepts">Each concept's name, descriptions and images, in the order of the image tensor.</param>
    /// <param name="Environment">What ran the inversion (versions, device, threads); absent in older files.</param>
    private sealed record Manifest(int SchemaVersion, string ModelIdentity, int ImageSize, int Steps, int AugmentedCopies, long Seed,
        IReadOnlyList<InvertedConcept> Concepts, int? FromLayer = null, RunEnvironment? Environment = null);
}
