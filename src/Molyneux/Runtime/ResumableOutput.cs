namespace Molyneux.Runtime;

/// <summary>The output folder of a resumable run (pretraining, inversion, fine-tuning) and its state, which lives
/// beside it in <c>OUT.resume/</c> while the run is under way, so the output itself is only ever complete or absent.
/// Construction checks what is already on disk: an existing output needs <c>--overwrite</c>, a state left by an
/// interrupted run needs <c>--resume</c>.</summary>
public sealed class ResumableOutput
{
    /// <param name="stateFile">The file in <see cref="ResumeFolder"/> whose presence means a state was saved.</param>
    /// <param name="output">The folder the run writes when it completes.</param>
    /// <param name="resume">Continue from a state an interrupted run left (<c>--resume</c>); without it such a state is an error.</param>
    /// <param name="overwrite">Replace an existing output (<c>--overwrite</c>); without it an existing output is an error.</param>
    public ResumableOutput(string output, string stateFile, bool resume, bool overwrite)
    {
        (Output, Overwrite) = (output, overwrite);
        if (Directory.Exists(output) && !overwrite)
            throw new OptionException($"{output}: already exists (pass --overwrite to replace it)");
        ResumeFolder = ResumeFolderOf(output);
        StatePath = Path.Combine(ResumeFolder, stateFile);
        HasState = File.Exists(StatePath);
        if (HasState && !resume)
            throw new OptionException($"{ResumeFolder}: an interrupted run left its state here; pass --resume to continue it, or delete the folder");
    }

    /// <summary>Where the state of a run writing <paramref name="output"/> lives: beside it, named <c>OUT.resume</c>.</summary>
    public static string ResumeFolderOf(string output) => Path.GetFullPath(output).TrimEnd(Path.DirectorySeparatorChar) + ".resume";

    public string Output { get; }

    public bool Overwrite { get; }

    public string ResumeFolder { get; }

    /// <summary>The state file in <see cref="ResumeFolder"/>.</summary>
    public string StatePath { get; }

    /// <summary>Whether an interrupted run left a state to continue from (only allowed with --resume).</summary>
    public bool HasState { get; }

    /// <summary>Writes the output folder atomically, then deletes the state, which it no longer needs.</summary>
    public void Complete(Action<string> fillFolder)
    {
        AtomicFile.WriteDirectory(Output, Overwrite, fillFolder);
        if (Directory.Exists(ResumeFolder)) Directory.Delete(ResumeFolder, recursive: true);
    }
}
