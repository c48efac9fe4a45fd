namespace Molyneux.Evaluation;

/// <summary>Split folders (<c>train/</c>, <c>test/</c>, <c>validation/</c>…) as Hugging Face image folders and
/// CLIP_benchmark's webdatasets lay them out: the root holds one folder per split and nothing else.</summary>
public static class DatasetSplits
{
    /// <summary>Folder names that mean a split rather than a class. A root whose folders all have such names is split.</summary>
    public static IReadOnlySet<string> Names { get; } =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "train", "test", "validation", "valid", "val", "dev" };

    /// <summary>The folder to read: <paramref name="root"/>/<paramref name="split"/> when a split is asked for; when
    /// none is, the only split folder if the root has just one, the root itself if it has none. Choosing between
    /// several splits silently would evaluate on data the user did not mean, so that is an error.</summary>
    public static string Choose(string root, string? split)
    {
        var splits = Present(root);
        if (split is not null)
        {
            if (string.IsNullOrWhiteSpace(split) || split.IndexOfAny(['/', '\\']) >= 0 || split is "." or "..")
                throw new OptionException($"--split: '{split}' is not a split name");
            var folder = Path.Combine(root, split);
            if (!Directory.Exists(folder))
                throw new DatasetException(splits.Count == 0
                    ? $"{root}: no split folder '{split}' (this dataset has no split folders; leave out --split)"
                    : $"{root}: no split folder '{split}' (splits: {string.Join(", ", splits)})");
            return folder;
        }
        return splits.Count switch
        {
            0 => root,
            1 => Path.Combine(root, splits[0]),
            _ => throw new DatasetException($"{root}: has the splits {string.Join(", ", splits)}; choose one with --split"),
        };
    }

    /// <summary>The split folders of <paramref name="root"/> in ordinal order, or none when any of its (non-hidden)
    /// folders is not a split name, since then the folders are classes.</summary>
    public static IReadOnlyList<string> Present(string root)
    {
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>()
            .Where(name => !name.StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        return folders.Count > 0 && folders.All(Names.Contains) ? folders : [];
    }

    /// <summary>Orders names with their digit runs compared as numbers, so shards <c>2.tar</c> comes before
    /// <c>10.tar</c> as the tool that wrote them numbered them.</summary>
    public static IComparer<string> NaturalOrder { get; } = Comparer<string>.Create(CompareNatural);

    private static int CompareNatural(string? left, string? right)
    {
        if (left is null || right is null) return string.CompareOrdinal(left, right);
        int i = 0, j = 0;
        while (i < left.Length && j < right.Length)
        {
            if (char.IsAsciiDigit(left[i]) && char.IsAsciiDigit(right[j]))
            {
                var (startI, startJ) = (i, j);
                while (i < left.Length && char.IsAsciiDigit(left[i])) i++;
                while (j < right.Length && char.IsAsciiDigit(right[j])) j++;
                var a = left[startI..i].TrimStart('0');
                var b = right[startJ..j].TrimStart('0');
                var byValue = a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
                if (byValue != 0) return byValue;
            }
            else
            {
                if (left[i] != right[j]) return left[i].CompareTo(right[j]);
                i++;
                j++;
            }
        }
        var rest = (left.Length - i).CompareTo(right.Length - j);
        return rest != 0 ? rest : string.CompareOrdinal(left, right);
    }
}
