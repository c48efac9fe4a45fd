using Molyneux.Segmentation;

namespace Molyneux.Tests.Segmentation;

/// <summary>Masks drawn as text, one string per row: '#' is foreground, '.' background.</summary>
internal static class MaskText
{
    public static BinaryMask Parse(params string[] rows)
    {
        var mask = new BinaryMask(rows[0].Length, rows.Length);
        for (var y = 0; y < rows.Length; y++)
        for (var x = 0; x < rows[y].Length; x++)
            mask[x, y] = rows[y][x] == '#';
        return mask;
    }

    public static string[] Format(BinaryMask mask) =>
        Enumerable.Range(0, mask.Height)
            .Select(y => new string(Enumerable.Range(0, mask.Width).Select(x => mask[x, y] ? '#' : '.').ToArray()))
            .ToArray();

    /// <summary>A width × height mask with the rectangle [left, right) × [top, bottom) set.</summary>
    public static BinaryMask Rectangle(int width, int height, int left, int top, int right, int bottom)
    {
        var mask = new BinaryMask(width, height);
        for (var y = top; y < bottom; y++)
        for (var x = left; x < right; x++)
            mask[x, y] = true;
        return mask;
    }
}
