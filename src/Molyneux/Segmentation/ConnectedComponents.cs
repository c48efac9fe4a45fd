namespace Molyneux.Segmentation;

/// <summary>Which neighbours join two foreground pixels into one component: the 4 sharing an edge, or those 4 and
/// the 4 diagonal ones (OpenCV's <c>connectedComponentsWithStats</c> default, which MedCLIP-SAMv2 uses).</summary>
public enum Connectivity
{
    Four = 4,
    Eight = 8,
}

/// <summary>A labelling of a mask's foreground into connected components: <see cref="Labels"/> holds 0 for background
/// and 1 … <see cref="Count"/> for the components, numbered in the raster order (row by row, left to right) of
/// their first pixel; <see cref="Sizes"/>[k − 1] and <see cref="Boxes"/>[k − 1] belong to label k.</summary>
public sealed class ComponentLabels
{
    private readonly int[] labels;

    internal ComponentLabels(int width, int height, int[] labels, IReadOnlyList<int> sizes, IReadOnlyList<PixelBox> boxes)
    {
        Width = width;
        Height = height;
        this.labels = labels;
        Sizes = sizes;
        Boxes = boxes;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>One label per pixel, row-major.</summary>
    public ReadOnlySpan<int> Labels => labels;

    public int Count => Sizes.Count;

    /// <summary>Pixels per component.</summary>
    public IReadOnlyList<int> Sizes { get; }

    /// <summary>The tight box of each component (exclusive right and bottom, see <see cref="PixelBox"/>).</summary>
    public IReadOnlyList<PixelBox> Boxes { get; }

    /// <summary>The mask of the components whose label <paramref name="keep"/> accepts.</summary>
    public BinaryMask Select(Func<int, bool> keep)
    {
        var kept = new bool[Count + 1];
        for (var label = 1; label <= Count; label++) kept[label] = keep(label);
        var pixels = new bool[labels.Length];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = kept[this.labels[i]];
        return new BinaryMask(Width, Height, pixels);
    }
}

/// <summary>Connected components of a mask, and the filters the MedCLIP-SAMv2 post-processing applies with them:
/// keep the largest, keep those above a size, and the boxes around what is kept (the prompts SAM would get).</summary>
public static class ConnectedComponents
{
    /// <summary>Labels the foreground by a flood fill from each unlabelled pixel in raster order (linear time).</summary>
    public static ComponentLabels Label(BinaryMask mask, Connectivity connectivity = Connectivity.Eight)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (connectivity is not (Connectivity.Four or Connectivity.Eight))
            throw new ArgumentOutOfRangeException(nameof(connectivity), $"connectivity {(int)connectivity}: must be 4 or 8");
        var (width, height) = (mask.Width, mask.Height);
        var pixels = mask.Pixels;
        var labels = new int[pixels.Length];
        var sizes = new List<int>();
        var boxes = new List<PixelBox>();
        var pending = new Stack<int>();
        var diagonal = connectivity == Connectivity.Eight;

        for (var start = 0; start < pixels.Length; start++)
        {
            if (!pixels[start] || labels[start] != 0) continue;
            var label = sizes.Count + 1;
            var (left, top, right, bottom, size) = (int.MaxValue, int.MaxValue, -1, -1, 0);
            labels[start] = label;
            pending.Push(start);
            while (pending.Count > 0)
            {
                var index = pending.Pop();
                var (x, y) = (index % width, index / width);
                size++;
                (left, right) = (Math.Min(left, x), Math.Max(right, x));
                (top, bottom) = (Math.Min(top, y), Math.Max(bottom, y));
                for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                {
                    if ((dx == 0 && dy == 0) || (!diagonal && dx != 0 && dy != 0)) continue;
                    var (nx, ny) = (x + dx, y + dy);
                    if ((uint)nx >= (uint)width || (uint)ny >= (uint)height) continue;
                    var neighbour = ny * width + nx;
                    if (!pixels[neighbour] || labels[neighbour] != 0) continue;
                    labels[neighbour] = label;
                    pending.Push(neighbour);
                }
            }
            sizes.Add(size);
            boxes.Add(new PixelBox(left, top, right + 1, bottom + 1));
        }
        return new ComponentLabels(width, height, labels, sizes, boxes);
    }

    /// <summary>The largest component. Components tied for the largest size are all kept, as the authors' top-k
    /// filter does (it keeps every blob whose size is among the k largest sizes, k = 1 by default); an empty mask
    /// stays empty.</summary>
    public static BinaryMask Largest(BinaryMask mask, Connectivity connectivity = Connectivity.Eight)
    {
        var components = Label(mask, connectivity);
        if (components.Count == 0) return new BinaryMask(mask.Width, mask.Height);
        var largest = components.Sizes.Max();
        return components.Select(label => components.Sizes[label - 1] == largest);
    }

    /// <summary>The components of at least <paramref name="minimumPixels"/> pixels, to drop the specks a threshold
    /// leaves in a noisy map.</summary>
    public static BinaryMask AboveSize(BinaryMask mask, int minimumPixels, Connectivity connectivity = Connectivity.Eight)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumPixels);
        var components = Label(mask, connectivity);
        return components.Select(label => components.Sizes[label - 1] >= minimumPixels);
    }

    /// <summary>One tight box per component, in label order.</summary>
    public static IReadOnlyList<PixelBox> Boxes(BinaryMask mask, Connectivity connectivity = Connectivity.Eight) =>
        Label(mask, connectivity).Boxes;
}
