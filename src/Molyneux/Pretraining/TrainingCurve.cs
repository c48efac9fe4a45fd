using System.Text.Json;
using System.Text.Json.Serialization;
using Molyneux.Runtime;
using SkiaSharp;

namespace Molyneux.Pretraining;

/// <summary>One point of the learning curve: the training loss (averaged since the previous point) and, where the
/// probes ran, their held-out top-1/top-5.</summary>
public sealed record CurvePoint(int Step, double Minutes, double Loss, double LearningRate, double LogitScale,
    IReadOnlyDictionary<string, double>? Probes);

/// <summary>What training.json holds: the recipe, the curve and the final numbers (<c>final.minutes</c>,
/// <c>final.steps</c>, and <c>{probe}_top1</c>/<c>{probe}_top5</c> as fractions in [0,1]).</summary>
public sealed record TrainingRecord(string Data, PretrainOptions Options, int TotalSteps, IReadOnlyList<CurvePoint> Curve,
    IReadOnlyDictionary<string, double> Final, RunEnvironment? Environment = null)
{
    public static JsonSerializerOptions JsonOptions => SnakeCaseJson.Record;

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions) + "\n");

    public void SavePlot(string path) => SavePlot(Curve, path);

    /// <summary>Draws the loss (left) and each probe's top-1 (right) of a learning curve against minutes, as a PNG.</summary>
    public static void SavePlot(IReadOnlyList<CurvePoint> curve, string path) =>
        SavePlot(curve, path, "held-out top-1", key => key.EndsWith("_top1", StringComparison.Ordinal), probeMax: 1.0);

    /// <summary>Draws the loss (left) and the probes <paramref name="showProbe"/> picks (right, titled
    /// <paramref name="probeTitle"/>, up to <paramref name="probeMax"/> or the largest value when null) against minutes.</summary>
    public static void SavePlot(IReadOnlyList<CurvePoint> curve, string path, string probeTitle, Func<string, bool> showProbe, double? probeMax)
    {
        const int width = 960, height = 400;
        using var bitmap = new SKBitmap(width, height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        var loss = new List<(string, List<(double, double)>)> { ("training loss", curve.Select(p => (p.Minutes, p.Loss)).ToList()) };
        var probes = curve.Where(p => p.Probes is not null)
            .SelectMany(p => p.Probes!.Where(kv => showProbe(kv.Key)).Select(kv => (kv.Key, Point: (p.Minutes, kv.Value))))
            .GroupBy(entry => entry.Key)
            .Select(group => (group.Key, group.Select(entry => entry.Point).ToList())).ToList();
        DrawPanel(canvas, new SKRect(50, 50, width / 2 - 25, height - 50), "training loss", loss, fixedMax: null);
        DrawPanel(canvas, new SKRect(width / 2 + 50, 50, width - 25, height - 50), probeTitle, probes, fixedMax: probeMax);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, stream => data.SaveTo(stream));
    }

    private static void DrawPanel(SKCanvas canvas, SKRect area, string title, List<(string Label, List<(double X, double Y)> Points)> lines, double? fixedMax)
    {
        SKColor[] palette = [SKColors.SteelBlue, SKColors.OrangeRed, SKColors.SeaGreen, SKColors.Purple];
        using var font = new SKFont(SKTypeface.Default, 13);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var axis = new SKPaint { Color = SKColors.Gray, StrokeWidth = 1 };
        canvas.DrawLine(area.Left, area.Bottom, area.Right, area.Bottom, axis);
        canvas.DrawLine(area.Left, area.Top, area.Left, area.Bottom, axis);
        canvas.DrawText(title, area.Left, area.Top - 15, SKTextAlign.Left, font, ink);
        var points = lines.SelectMany(line => line.Points).ToList();
        if (points.Count == 0) return;
        var maxX = Math.Max(points.Max(p => p.X), 1e-9);
        var maxY = Math.Max(fixedMax ?? points.Max(p => p.Y), 1e-9);
        canvas.DrawText($"{maxY:G3}", area.Left - 45, area.Top + 5, SKTextAlign.Left, font, ink);
        canvas.DrawText($"{maxX:F1} min", area.Right - 50, area.Bottom + 20, SKTextAlign.Left, font, ink);
        for (var l = 0; l < lines.Count; l++)
        {
            using var stroke = new SKPaint { Color = palette[l % palette.Length], StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var builder = new SKPathBuilder();
            var first = true;
            foreach (var (x, y) in lines[l].Points)
            {
                var point = new SKPoint(area.Left + (float)(x / maxX) * area.Width, area.Bottom - (float)(y / maxY) * area.Height);
                if (first) builder.MoveTo(point); else builder.LineTo(point);
                first = false;
            }
            using var path = builder.Detach();
            canvas.DrawPath(path, stroke);
            using var label = new SKPaint { Color = stroke.Color, IsAntialias = true };
            canvas.DrawText(lines[l].Label, area.Right - 150, area.Top + 15 + 16 * l, SKTextAlign.Left, font, label);
        }
    }
}
