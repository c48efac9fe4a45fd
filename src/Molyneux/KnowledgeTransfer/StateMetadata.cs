using System.Globalization;
using Molyneux.Checkpoints;

namespace Molyneux.KnowledgeTransfer;

/// <summary>The metadata of a saved run state (<see cref="InversionState"/>, <see cref="FineTuneState"/>): checked
/// to be of the expected kind and format on construction, read by key with an error naming the file.</summary>
internal sealed class StateMetadata
{
    private readonly SafetensorsFile file;
    private readonly string kind;

    /// <param name="kind">What the file should be, for messages: "inversion state", "fine-tuning state".</param>
    /// <param name="file">The state file whose metadata is read; errors name its path.</param>
    /// <param name="format">The format name the file must carry, so that a state of another kind or version is refused.</param>
    public StateMetadata(SafetensorsFile file, string kind, string format)
    {
        (this.file, this.kind) = (file, kind);
        if (this["format"] != format)
            throw new CheckpointException($"{file.Path}: {kind} format '{this["format"]}', expected '{format}'");
    }

    public string this[string key] => file.Metadata.TryGetValue(key, out var value)
        ? value
        : throw new CheckpointException($"{file.Path}: not {Article(kind)} {kind} (no '{key}' in the metadata)");

    public int Count(string key) => int.TryParse(this[key], NumberStyles.None, CultureInfo.InvariantCulture, out var value)
        ? value
        : throw new CheckpointException($"{file.Path}: {key} '{this[key]}' is not a count");

    private static string Article(string word) => "aeiou".Contains(word[0]) ? "an" : "a";
}
