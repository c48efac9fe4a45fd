namespace Molyneux.Evaluation;

/// <summary>Restricts a dataset to some of its classes and optionally renames them (the CLI's <c>--classes</c>). Each
/// entry is a class's display name, kept as is, or <c>name=new display name</c>, kept under the new name, which is then
/// what the prompts say. Only the listed classes stay, in the listed order; images of other classes are dropped, so
/// they neither count nor compete.</summary>
public sealed class ClassSelection
{
    private readonly IReadOnlyList<(string Name, string DisplayName)> classes;

    private ClassSelection(IReadOnlyList<string> entries, IReadOnlyList<(string Name, string DisplayName)> classes)
    {
        Entries = entries;
        this.classes = classes;
    }

    /// <summary>The entries as given, for reports.</summary>
    public IReadOnlyList<string> Entries { get; }

    public static ClassSelection Parse(IEnumerable<string> entries)
    {
        var list = entries.ToList();
        if (list.Count == 0)
            throw new OptionException("--classes: no class names given");
        var classes = new List<(string, string)>();
        foreach (var entry in list)
        {
            var separator = entry.IndexOf('=');
            var name = (separator < 0 ? entry : entry[..separator]).Trim();
            var displayName = (separator < 0 ? entry : entry[(separator + 1)..]).Trim();
            if (name.Length == 0 || displayName.Length == 0)
                throw new OptionException($"--classes: '{entry}' is not NAME or NAME=DISPLAY NAME");
            classes.Add((name, displayName));
        }
        return new ClassSelection(list, classes);
    }

    public ILabeledImageDataset Apply(ILabeledImageDataset dataset)
    {
        var unknown = this.classes.Select(c => c.Name).Where(name => !dataset.ClassNames.Contains(name, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
            throw new OptionException($"--classes: {string.Join(", ", unknown.Select(name => $"'{name}'"))} not among the classes of {dataset.Location} ({string.Join(", ", dataset.ClassNames)})");
        var repeated = this.classes.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (repeated is not null)
            throw new OptionException($"--classes: class '{repeated.Key}' is listed more than once");
        var clash = this.classes.GroupBy(c => c.DisplayName, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (clash is not null)
            throw new OptionException($"--classes: more than one class would be called '{clash.Key}'");

        // Old class index -> new class index, or -1 for a class left out.
        var position = this.classes.Select((c, index) => (c.Name, index)).ToDictionary(p => p.Name, p => p.index, StringComparer.Ordinal);
        var newIndex = dataset.ClassNames.Select(name => position.GetValueOrDefault(name, -1)).ToArray();
        var images = dataset.Images
            .Where(image => newIndex[image.ClassIndex] >= 0)
            .Select(image => image with { ClassIndex = newIndex[image.ClassIndex] })
            .ToList();
        return new SelectedDataset(dataset.Location, this.classes.Select(c => c.DisplayName).ToList(), images);
    }

    private sealed record SelectedDataset(string Location, IReadOnlyList<string> ClassNames, IReadOnlyList<LabeledImage> Images) : ILabeledImageDataset;
}
