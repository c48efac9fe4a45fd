using System.Net;
using System.Text;
using Molyneux.Imaging;
using Molyneux.Runtime;
using SkiaSharp;
using static TorchSharp.torch;

namespace Molyneux.Captioning;

/// <summary>One image of a <see cref="CaptionPage"/> beside its caption.</summary>
/// <param name="Png">The image as a PNG file's bytes, embedded in the page as they are.</param>
/// <param name="Caption">The generated caption.</param>
/// <param name="References">The reference captions, when known; null or empty: none shown.</param>
/// <param name="Source">Where the image came from (a file, a scene index), when known.</param>
public sealed record CaptionPageRow(byte[] Png, string Caption, IReadOnlyList<string>? References = null, string? Source = null);

/// <summary>A self-contained HTML page of images beside their generated captions, to read what a captioner says: one
/// table row per image, the PNG embedded as a <c>data:</c> URI (the page is one file, to open or share as it is),
/// the caption, the references and the source when known. Every text is HTML-encoded, so a caption is shown as
/// generated, whatever characters it holds.</summary>
public static class CaptionPage
{
    /// <summary>The side an image is shown at, at least: a smaller one is scaled up by a whole factor, with
    /// <c>image-rendering: pixelated</c>, so that a 32-pixel scene is seen at 128 pixels with sharp pixels.</summary>
    public const int DisplaySide = 128;

    /// <summary>Writes the page to <paramref name="path"/> atomically: a failure leaves the old file or none, never a
    /// part of the page.</summary>
    /// <param name="path">The .html file to write; a missing folder is created.</param>
    /// <param name="rows">The images, in the order shown.</param>
    /// <param name="title">The page's title and heading.</param>
    /// <param name="header">One line under the heading (the model, the generation settings); null: none.</param>
    /// <exception cref="IOException">The file cannot be written; the message names it.</exception>
    public static void Write(string path, IReadOnlyList<CaptionPageRow> rows, string title, string? header = null)
    {
        var html = Render(rows, title, header);
        try
        {
            AtomicFile.WriteAllText(path, html);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{path}: cannot write the caption page: {e.Message}", e);
        }
    }

    /// <summary>The page's HTML.</summary>
    /// <param name="rows">The images, in the order shown.</param>
    /// <param name="title">The page's title and heading.</param>
    /// <param name="header">One line under the heading; null: none.</param>
    /// <exception cref="ArgumentException">A row's image is not a PNG file.</exception>
    public static string Render(IReadOnlyList<CaptionPageRow> rows, string title, string? header = null)
    {
        // Columns no row fills would only be empty cells.
        var withReferences = rows.Any(row => row.References is { Count: > 0 });
        var withSources = rows.Any(row => row.Source is not null);
        var html = new StringBuilder();
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>{{Encode(title)}}</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; }
            th, td { border-bottom: 1px solid #ddd; padding: 0.5em 1em; text-align: left; vertical-align: top; }
            img { image-rendering: pixelated; }
            .caption { font-weight: bold; }
            .references { margin: 0; padding-left: 1.2em; color: #555; }
            .source { color: #777; font-size: 0.9em; }
            </style>
            </head>
            <body>
            <h1>{{Encode(title)}}</h1>

            """);
        if (header is not null) html.Append($"<p>{Encode(header)}</p>\n");
        html.Append("<table>\n<thead><tr><th>image</th><th>generated caption</th>");
        if (withReferences) html.Append("<th>references</th>");
        if (withSources) html.Append("<th>source</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var (width, height) = PngSize(row.Png, i);
            var scale = Math.Max(1, (DisplaySide + Math.Max(width, height) - 1) / Math.Max(width, height));
            html.Append($"<tr><td><img src=\"data:image/png;base64,{Convert.ToBase64String(row.Png)}\" width=\"{width * scale}\" " +
                        $"height=\"{height * scale}\" alt=\"{Encode(row.Source ?? $"image {i + 1}")}\"></td>");
            html.Append($"<td class=\"caption\">{Encode(row.Caption)}</td>");
            if (withReferences)
                html.Append($"<td><ul class=\"references\">{string.Concat((row.References ?? []).Select(reference => $"<li>{Encode(reference)}</li>"))}</ul></td>");
            if (withSources) html.Append($"<td class=\"source\">{Encode(row.Source ?? "")}</td>");
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>Images [N, 3, H, W] in [0, 1], on any device, as PNG files' bytes.</summary>
    public static IReadOnlyList<byte[]> Pngs(Tensor images)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"expected images [N, 3, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        var pngs = new List<byte[]>((int)images.shape[0]);
        for (var i = 0; i < images.shape[0]; i++)
        {
            using var image = images[i];
            pngs.Add(ImageDecoder.EncodePng(image));
        }
        return pngs;
    }

    /// <summary>Model inputs [N, 3, H, W] (normalized by <paramref name="processor"/>) as the PNGs of the images the
    /// model sees.</summary>
    /// <param name="processor">The preprocessing that normalized them, undone here.</param>
    /// <param name="pixelValues">The model inputs, on any device.</param>
    public static IReadOnlyList<byte[]> ModelInputPngs(ClipImageProcessor processor, Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return Pngs(processor.Denormalize(pixelValues));
    }

    /// <summary>Image files as the PNGs of what a model sees of them: resized and cropped by
    /// <paramref name="processor"/> (a photo's page holds the model's square, not the whole photo), read a batch at a
    /// time so that no more than one batch is held as pixels.</summary>
    /// <param name="processor">The model's preprocessing (<see cref="Captioner.ImageProcessor"/>).</param>
    /// <param name="paths">The image files, in order.</param>
    public static IReadOnlyList<byte[]> ModelInputPngs(ClipImageProcessor processor, IReadOnlyList<string> paths)
    {
        var pngs = new List<byte[]>(paths.Count);
        for (var start = 0; start < paths.Count; start += Captioner.ImagesPerBatch)
        {
            using var scope = NewDisposeScope();
            var batch = paths.Skip(start).Take(Captioner.ImagesPerBatch).ToList();
            pngs.AddRange(ModelInputPngs(processor, processor.PreprocessFiles(batch)));
        }
        return pngs;
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    /// <summary>Width and height of a row's PNG, read by SkiaSharp's codec from the header alone.</summary>
    private static (int Width, int Height) PngSize(byte[] png, int row)
    {
        using var data = SKData.CreateCopy(png);
        using var codec = SKCodec.Create(data);
        if (codec is null || codec.EncodedFormat != SKEncodedImageFormat.Png)
            throw new ArgumentException($"caption page row {row + 1}: the image is not a PNG file", "rows");
        return (codec.Info.Width, codec.Info.Height);
    }
}
