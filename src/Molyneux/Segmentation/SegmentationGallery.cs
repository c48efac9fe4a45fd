using System.Net;
using System.Text;
using Molyneux.Imaging;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Segmentation;

/// <summary>An HTML page of segmentations for a person to look at: per image its pixels, the heat map over them, the
/// predicted mask and the true one, with the scores; the first <see cref="PerClass"/> images of each class. Used as
/// <see cref="SegmentationOptions.OnImage"/>; <see cref="WriteIndex"/> writes the page once all are in.</summary>
public sealed class SegmentationGallery(string folder, int perClass = 6)
{
    public const string IndexFile = "index.html";

    private readonly List<(string Class, string Prompt, string Stem, SegmentationScores Scores)> rows = [];

    public int PerClass { get; } = perClass;

    public void Add(SegmentedImage image)
    {
        var className = Path.GetFileName(Path.GetDirectoryName(image.Sample.ImagePath)) ?? "";
        if (rows.Count(row => row.Class == className) >= PerClass) return;
        var stem = $"{rows.Count:D4}";
        Directory.CreateDirectory(Path.Combine(folder, "images"));
        var rgb = Rgb(image.Pixels);
        ImageDecoder.SavePng(Path.Combine(folder, "images", $"{stem}-image.png"), image.Pixels);
        image.Map.WriteHeatMapPng(Path.Combine(folder, "images", $"{stem}-map.png"), rgb);
        image.Prediction.Mask.WritePng(Path.Combine(folder, "images", $"{stem}-predicted.png"));
        image.Truth.WritePng(Path.Combine(folder, "images", $"{stem}-truth.png"));
        rows.Add((className, image.Prompt, stem, image.Scores));
    }

    /// <summary>Writes index.html with <paramref name="report"/>'s summary above the images.</summary>
    public void WriteIndex(SegmentationReport report)
    {
        static string H(string text) => WebUtility.HtmlEncode(text);
        var html = new StringBuilder();
        html.Append($"<!doctype html><meta charset=\"utf-8\"><title>Segmentation: {H(report.Method)}</title>");
        html.Append("<style>body{font-family:sans-serif}img{width:128px;image-rendering:pixelated}td{padding:4px;vertical-align:top}</style>");
        html.Append($"<h1>{H(report.Method)}</h1><p>{H(report.Dataset)} · mask {H(report.Mask.Method.ToString())} · NSD τ = {report.NsdTolerance:g3} px</p>");
        html.Append("<table><tr><th>class</th><th>prompt</th><th>images</th><th>DSC</th><th>IoU</th><th>NSD</th></tr>");
        foreach (var row in report.PerClass.Append(report.Overall))
            html.Append($"<tr><td>{H(row.Class)}</td><td>{H(row.Prompt)}</td><td>{row.Images}</td><td>{row.Dice}</td><td>{row.IoU}</td><td>{row.Nsd}</td></tr>");
        html.Append("</table><table><tr><th>class / prompt</th><th>image</th><th>saliency</th><th>predicted</th><th>true</th><th>scores</th></tr>");
        foreach (var (className, prompt, stem, scores) in rows)
            html.Append($"<tr><td>{H(className)}<br><i>{H(prompt)}</i></td><td><img src=\"images/{stem}-image.png\"></td><td><img src=\"images/{stem}-map.png\"></td>" +
                        $"<td><img src=\"images/{stem}-predicted.png\"></td><td><img src=\"images/{stem}-truth.png\"></td>" +
                        $"<td>DSC {scores.Dice:F3}<br>IoU {scores.IoU:F3}<br>NSD {scores.Nsd:F3}</td></tr>");
        html.Append("</table>\n");
        File.WriteAllText(Path.Combine(folder, IndexFile), html.ToString());
    }

    /// <summary>Pixels [3, h, w] in [0, 1] as row-major RGB bytes.</summary>
    public static byte[] Rgb(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        return pixels.detach().cpu().AtLeast(0).AtMost(1).mul(LiveScalars.ByteMaximum).round().to(ScalarType.Byte).permute(1, 2, 0).contiguous().data<byte>().ToArray();
    }
}
