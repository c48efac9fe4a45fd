using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Imaging;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>One point of the loss curve: step <paramref name="Step"/> (from 1) evaluated, before its update, a
/// mean cosine to the targets of <paramref name="Cosine"/>, a mean regulariser (total variation, or the feature
/// statistics distance of partial inversion) of <paramref name="Regularizer"/>, and a mean loss
/// −cosine + weight·regulariser of <paramref name="Loss"/>, at learning rate <paramref name="LearningRate"/>.</summary>
public readonly record struct InversionStepLoss(int Step, double Cosine, double Regularizer, double Loss, double LearningRate);

/// <summary>What <see cref="Inversion"/>
/// returns: <see cref="Inverted"/>, CPU float32, is the images [N, 3, S, S] in [0, 1], or for partial inversion the
/// token features [N, tokens, width] entering <see cref="PartialLayer"/>; images of one concept are consecutive.</summary>
public sealed class InversionResult(Tensor inverted, IReadOnlyList<InversionStepLoss> lossCurve, int? partialLayer) : IDisposable
{
    public const string ContactSheetFile = "contact_sheet.png", LossCurveFile = "loss_curve.json", FeaturesFile = "features.safetensors";

    private const int SheetGap = 2;

    public Tensor Inverted { get; } = inverted;

    public IReadOnlyList<InversionStepLoss> LossCurve { get; } = lossCurve;

    public int? PartialLayer { get; } = partialLayer;

    /// <summary>Writes everything into <paramref name="folder"/>: for images, each as PNG
    /// (<see cref="ImageFileName"/>) and the contact sheet; for features, one safetensors file; and the loss curve.
    /// Each file is written atomically.</summary>
    public void Save(string folder, int imagesPerConcept)
    {
        if (PartialLayer is { } layer)
        {
            SafetensorsFile.Write(Path.Combine(folder, FeaturesFile), [new("features", Inverted)],
                new Dictionary<string, string> { ["layer"] = layer.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        else
        {
            SaveImages(folder, imagesPerConcept);
            SaveContactSheet(Path.Combine(folder, ContactSheetFile), imagesPerConcept);
        }
        SaveLossCurve(Path.Combine(folder, LossCurveFile));
    }

    public static string ImageFileName(int concept, int image) => $"concept{concept:D3}_image{image:D3}.png";

    public void SaveImages(string folder, int imagesPerConcept)
    {
        var count = RequireImages(imagesPerConcept);
        for (var i = 0; i < count; i++)
        {
            using var image = Inverted[i];
            ImageDecoder.SavePng(Path.Combine(folder, ImageFileName(i / imagesPerConcept, i % imagesPerConcept)), image);
        }
    }

    /// <summary>One row per concept, its images side by side, on white with a <see cref="SheetGap"/>-pixel margin.</summary>
    public void SaveContactSheet(string path, int imagesPerConcept)
    {
        var count = RequireImages(imagesPerConcept);
        var (rows, columns) = (count / imagesPerConcept, imagesPerConcept);
        var (height, width) = (Inverted.shape[2], Inverted.shape[3]);
        using var scope = NewDisposeScope();
        var sheet = ones(3, rows * (height + SheetGap) + SheetGap, columns * (width + SheetGap) + SheetGap);
        for (var i = 0; i < count; i++)
        {
            var (row, column) = (i / columns, i % columns);
            sheet.narrow(1, SheetGap + row * (height + SheetGap), height)
                .narrow(2, SheetGap + column * (width + SheetGap), width)
                .copy_(Inverted[i]);
        }
        ImageDecoder.SavePng(path, sheet);
    }

    /// <summary>{"regularizer": "total_variation" | "feature_statistics", "steps": [{"step", "cosine",
    /// "regularizer", "loss", "learning_rate"}, …]}</summary>
    public void SaveLossCurve(string path) =>
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteString("regularizer", PartialLayer is null ? "total_variation" : "feature_statistics");
            json.WriteStartArray("steps");
            foreach (var point in LossCurve)
            {
                json.WriteStartObject();
                json.WriteNumber("step", point.Step);
                json.WriteNumber("cosine", point.Cosine);
                json.WriteNumber("regularizer", point.Regularizer);
                json.WriteNumber("loss", point.Loss);
                json.WriteNumber("learning_rate", point.LearningRate);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        });

    private int RequireImages(int imagesPerConcept)
    {
        if (PartialLayer is not null)
            throw new InvalidOperationException("a partial inversion yields token features, not images");
        var count = (int)Inverted.shape[0];
        if (imagesPerConcept <= 0 || count % imagesPerConcept != 0)
            throw new ArgumentException($"{count} images do not split into concepts of {imagesPerConcept}", nameof(imagesPerConcept));
        return count;
    }

    public void Dispose() => Inverted.Dispose();
}
