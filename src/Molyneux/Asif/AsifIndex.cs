using System.Text.Json;
using System.Text.Json.Serialization;
using Molyneux.Checkpoints;
using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>Which encoder made one side of an index: where it was loaded from (so commands can load it again) and
/// its identity (so that another encoder is refused: its embeddings would not be comparable with the anchors').</summary>
public sealed record EncoderInfo(string? Path, string Identity, int EmbeddingSize);

/// <summary>An ASIF model (Norelli et al. 2023): two unimodal encoders and n anchor image–caption pairs, kept as
/// the anchors' unit embeddings in each modality. Nothing is trained; adding or removing anchors changes the model at
/// once, encoding only the new pairs.
///
/// On disk, a folder written atomically (complete or absent): <c>index.json</c> (format, encoders, storage, count),
/// <c>anchors.jsonl</c> (one <c>{"image": …, "caption": …}</c> per anchor, in row order) and
/// <c>anchors.safetensors</c> (<c>image</c> [n, Ei] and <c>text</c> [n, Et] in F32, F16 or I8, plus
/// <c>image_scales</c>/<c>text_scales</c> [n] for I8, and <c>image_centre</c> [Ei] / <c>text_centre</c> [Et] in F32
/// for a centred index). An opened index memory-maps the embeddings and reads them a
/// chunk at a time.</summary>
public sealed class AsifIndex : IDisposable
{
    public const int FormatVersion = 1;
    private const string ManifestFile = "index.json";
    private const string AnchorsFile = "anchors.jsonl";
    private const string EmbeddingsFile = "anchors.safetensors";

    private static JsonSerializerOptions JsonOptions => SnakeCaseJson.Strict;

    /// <summary>anchors.jsonl holds one object per line.</summary>
    private static readonly JsonSerializerOptions LineOptions = new(JsonOptions) { WriteIndented = false };

    private readonly SafetensorsFile? file;

    private AsifIndex(EncoderInfo imageEncoder, EncoderInfo textEncoder, IReadOnlyList<AnchorPair> anchors,
        AnchorMatrix imageAnchors, AnchorMatrix textAnchors, SafetensorsFile? file = null)
    {
        (ImageEncoder, TextEncoder, Anchors, ImageAnchors, TextAnchors, this.file) = (imageEncoder, textEncoder, anchors, imageAnchors, textAnchors, file);
    }

    public EncoderInfo ImageEncoder { get; }

    public EncoderInfo TextEncoder { get; }

    /// <summary>The anchor pairs, in row order of the embedding matrices.</summary>
    public IReadOnlyList<AnchorPair> Anchors { get; }

    public AnchorMatrix ImageAnchors { get; }

    public AnchorMatrix TextAnchors { get; }

    public AnchorStorage Storage => ImageAnchors.Storage;

    /// <summary>Encodes the anchor pairs (each distinct image once) and keeps their unit embeddings in
    /// <paramref name="storage"/>. The paths are recorded so that commands can load the encoders again. With
    /// <paramref name="centre"/>, each modality's anchors and queries are centred on the anchors' mean embedding
    /// (<see cref="AnchorMatrix"/>); the means are fixed here, so that anchors added later are centred alike.</summary>
    public static AsifIndex Build(IImageEncoder imageEncoder, ITextEncoder textEncoder, IReadOnlyList<AnchorPair> anchors,
        AnchorStorage storage = AnchorStorage.Fp32, string? imageEncoderPath = null, string? textEncoderPath = null,
        int batchSize = 64, IProgress<EvaluationProgress>? progress = null, bool centre = false)
    {
        if (anchors.Count == 0) throw new DatasetException("no anchor pairs to build an ASIF index from");
        var (images, texts) = Encode(imageEncoder, textEncoder, anchors, batchSize, progress);
        using (images)
        using (texts)
        using (var imageMean = centre ? images.mean([0]) : null)
        using (var textMean = centre ? texts.mean([0]) : null)
            return new AsifIndex(
                new EncoderInfo(imageEncoderPath is null ? null : UnimodalEncoders.Recorded(imageEncoderPath), imageEncoder.Identity, imageEncoder.EmbeddingSize),
                new EncoderInfo(textEncoderPath is null ? null : UnimodalEncoders.Recorded(textEncoderPath), textEncoder.Identity, textEncoder.EmbeddingSize),
                anchors.ToList(), AnchorMatrix.FromRows(images, storage, imageMean), AnchorMatrix.FromRows(texts, storage, textMean));
    }

    /// <summary>A new index with <paramref name="anchors"/> appended, in this index's storage. Only the new pairs are
    /// encoded (pairs already present are skipped); the existing anchors' embeddings are kept as stored.</summary>
    public AsifIndex Add(IImageEncoder imageEncoder, ITextEncoder textEncoder, IReadOnlyList<AnchorPair> anchors,
        int batchSize = 64, IProgress<EvaluationProgress>? progress = null)
    {
        CheckEncoders(imageEncoder, textEncoder);
        var present = Anchors.ToHashSet();
        var added = anchors.Distinct().Where(pair => !present.Contains(pair)).ToList();
        if (added.Count == 0) return Subset(Enumerable.Range(0, Anchors.Count).Select(i => (long)i).ToList());
        var (images, texts) = Encode(imageEncoder, textEncoder, added, batchSize, progress);
        using (images)
        using (texts)
            return new AsifIndex(ImageEncoder, TextEncoder, [.. Anchors, .. added],
                ImageAnchors.Append(AnchorMatrix.FromRows(images, Storage, ImageAnchors.Centre)),
                TextAnchors.Append(AnchorMatrix.FromRows(texts, Storage, TextAnchors.Centre)));
    }

    /// <summary>A new index without the anchors <paramref name="remove"/> selects; nothing is encoded.</summary>
    public AsifIndex Remove(Func<AnchorPair, bool> remove)
    {
        var kept = Enumerable.Range(0, Anchors.Count).Where(i => !remove(Anchors[i])).Select(i => (long)i).ToList();
        if (kept.Count == 0) throw new OptionException("removing these anchors would leave the index empty");
        return Subset(kept);
    }

    /// <summary>Fails unless the encoders are the ones the anchors were embedded with.</summary>
    public void CheckEncoders(IImageEncoder imageEncoder, ITextEncoder textEncoder)
    {
        foreach (var (given, recorded, modality) in new[] { (imageEncoder.Identity, ImageEncoder, "image"), (textEncoder.Identity, TextEncoder, "text") })
            if (given != recorded.Identity)
                throw new OptionException($"the {modality} encoder (identity {given[..Math.Min(12, given.Length)]}…) is not the one the index was built with " +
                                          $"({recorded.Path ?? "path not recorded"}, identity {recorded.Identity[..Math.Min(12, recorded.Identity.Length)]}…)");
    }

    public void Save(string folder, bool overwrite = false) =>
        AtomicFile.WriteDirectory(folder, overwrite, temporary =>
        {
            SafetensorsFile.Write(Path.Combine(temporary, EmbeddingsFile), ImageAnchors.Tensors("image").Concat(TextAnchors.Tensors("text")));
            AtomicFile.Write(Path.Combine(temporary, AnchorsFile), stream =>
            {
                using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
                foreach (var anchor in Anchors)
                    writer.WriteLine(JsonSerializer.Serialize(new StoredAnchor(anchor.ImagePath, anchor.Caption), LineOptions));
            });
            var manifest = new StoredManifest(FormatVersion, Anchors.Count, Storage, ImageEncoder, TextEncoder);
            AtomicFile.WriteAllText(Path.Combine(temporary, ManifestFile), JsonSerializer.Serialize(manifest, JsonOptions) + "\n");
        });

    /// <summary>Opens an index folder; the embeddings stay on disk, memory-mapped.</summary>
    public static AsifIndex Open(string folder)
    {
        var manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath)) throw new DatasetException($"{folder}: not an ASIF index (no {ManifestFile})");
        StoredManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<StoredManifest>(File.ReadAllText(manifestPath), JsonOptions)
                       ?? throw new DatasetException($"{manifestPath}: empty");
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{manifestPath}: not a valid index manifest ({e.Message})", e);
        }
        if (manifest.Format != FormatVersion)
            throw new DatasetException($"{manifestPath}: index format {manifest.Format}, this Molyneux reads format {FormatVersion}");
        var anchors = ReadAnchors(Path.Combine(folder, AnchorsFile));
        var embeddings = SafetensorsFile.Open(Path.Combine(folder, EmbeddingsFile));
        try
        {
            var (image, text) = (AnchorMatrix.Mapped(embeddings, "image"), AnchorMatrix.Mapped(embeddings, "text"));
            foreach (var (matrix, info, modality) in new[] { (image, manifest.ImageEncoder, "image"), (text, manifest.TextEncoder, "text") })
                if (matrix.Count != anchors.Count || matrix.Dimension != info.EmbeddingSize || matrix.Storage != manifest.Storage)
                    throw new DatasetException($"{folder}: the {modality} embeddings are {matrix.Storage} [{matrix.Count}, {matrix.Dimension}], " +
                                               $"but the index lists {anchors.Count} anchors of a {info.EmbeddingSize}-d encoder in {manifest.Storage}");
            return new AsifIndex(manifest.ImageEncoder, manifest.TextEncoder, anchors, image, text, embeddings);
        }
        catch
        {
            embeddings.Dispose();
            throw;
        }
    }

    /// <summary>The same anchors in another storage (to measure what quantization costs).</summary>
    public AsifIndex WithStorage(AnchorStorage storage) =>
        new(ImageEncoder, TextEncoder, Anchors, ImageAnchors.WithStorage(storage), TextAnchors.WithStorage(storage));

    /// <summary>Whether anchors and queries are centred on the anchors' mean embeddings (<see cref="Build"/>).</summary>
    public bool Centred => ImageAnchors.Centre is not null;

    public void Dispose() => file?.Dispose();

    /// <summary>A new index of the anchors at <paramref name="rows"/>, in that order (e.g. a random subset, to see how
    /// accuracy grows with the anchors).</summary>
    public AsifIndex Subset(IReadOnlyList<long> rows) =>
        new(ImageEncoder, TextEncoder, rows.Select(row => Anchors[(int)row]).ToList(), ImageAnchors.Select(rows), TextAnchors.Select(rows));

    private static (Tensor Images, Tensor Texts) Encode(IImageEncoder imageEncoder, ITextEncoder textEncoder,
        IReadOnlyList<AnchorPair> anchors, int batchSize, IProgress<EvaluationProgress>? progress)
    {
        var distinctImages = anchors.Select(anchor => anchor.ImagePath).Distinct().ToList();
        var rowOfImage = distinctImages.Select((path, row) => (path, row)).ToDictionary(entry => entry.path, entry => (long)entry.row);
        using var encoded = BatchedEncoding.EncodeImages(imageEncoder, distinctImages, batchSize, cache: null, progress);
        var images = encoded.index_select(0, tensor(anchors.Select(anchor => rowOfImage[anchor.ImagePath]).ToArray()));
        var texts = BatchedEncoding.EncodeTexts(textEncoder, anchors.Select(anchor => anchor.Caption).ToList(), batchSize, cache: null, progress);
        return (images, texts);
    }

    private static List<AnchorPair> ReadAnchors(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"{path}: not found");
        var anchors = new List<AnchorPair>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            try
            {
                var stored = JsonSerializer.Deserialize<StoredAnchor>(text, JsonOptions) ?? throw new DatasetException($"{path}: line {line}: empty");
                anchors.Add(new AnchorPair(stored.Image, stored.Caption));
            }
            catch (JsonException e)
            {
                throw new DatasetException($"{path}: line {line}: {e.Message}", e);
            }
        }
        return anchors;
    }

    private sealed record StoredAnchor(string Image, string Caption);

    private sealed record StoredManifest(int Format, int NumAnchors, AnchorStorage Storage, EncoderInfo ImageEncoder, EncoderInfo TextEncoder);
}
