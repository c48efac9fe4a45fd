using System.CommandLine;
using Molyneux.Captioning;

namespace Molyneux.Cli;

/// <summary><c>--html FILE</c> of <c>caption</c> and <c>eval caption</c>: a self-contained page of the images, as the
/// model sees them, beside their captions (<see cref="CaptionPage"/>), to read what a captioner says.</summary>
public sealed class CaptionPageOption
{
    public Option<string?> Option { get; } = new("--html")
    {
        Description = "Also write an HTML page of the images (as the model sees them, embedded) beside their captions to FILE",
        HelpName = "FILE",
    };

    /// <summary>The file --html names; null when it was not given. Checked before any captioning, so that a bad name
    /// costs nothing.</summary>
    public string? File(ParseResult parse)
    {
        var path = parse.GetValue(Option);
        if (path is not null && string.IsNullOrWhiteSpace(path)) throw new OptionException("--html: the file name is empty");
        return path;
    }

    /// <summary>Writes the page of <paramref name="rows"/>, titled by the model and headed by what made the captions.</summary>
    /// <param name="path">The file --html names.</param>
    /// <param name="model">The --model path, as given.</param>
    /// <param name="options">The generation settings the captions were made with.</param>
    /// <param name="rows">The images beside their captions, in order.</param>
    /// <param name="scores">What the captions scored against the references (eval caption); null: nothing scored.</param>
    public static void Write(string path, string model, CaptionOptions options, IReadOnlyList<CaptionPageRow> rows, string? scores = null)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(model));
        var header = $"model {model}; {options.Summary}" + (scores is null ? "" : $"; {scores}");
        CaptionPage.Write(path, rows, $"Captions by {name}", header);
    }
}
