using Molyneux.Pretraining;
using Molyneux.Runtime;

namespace Molyneux.KnowledgeTransfer;

/// <summary>The output folder of a resumable run and its state file, which lives beside it in
/// <c>OUT.resume/</c> (as pretraining's does) while the run is under way, so the output itself is only ever complete
/// or absent. Construction checks what is already on disk: an existing output needs <c>--overwrite</c>, a state
/// left by an interrupted run needs <c>--resume</c>.</summary>
public sealed class ResumableOutput
{
    public ResumableOutput(string output, string stateFile, bool resume, bool overwrite)
    {
        (Output, Overwrite) = (output, overwrite);
        if (Directory.Exists(output) && !overwrite)
            throw new OptionException($"{output}: already exists (pass --overwrite to replace it)");
        StatePath = Path.Combine(ClipPretrainer.ResumeFolder(output), stateFile);
        HasState = File.Exists(StatePath);
        if (HasState && !resume)
            throw new OptionException($"{ClipPretrainer.ResumeFolder(output)}: an interrupted run left its state here; pass --resume to continue it, or delete the folder");
    }

    public string Output { get; }

    public bool Overwrite { get; }

    /// <summary>Where the run saves its state, in <c>OUT.resume/</c>.</summary>
    public string StatePath { get; }

    /// <summary>Whether an interrupted run left a state to continue from (only allowed with --resume).</summary>
    public bool HasState { get; }

    /// <summary>Writes the output folder atomically, then deletes the state, which it no longer needs.</summary>
    public void Complete(Action<string> fillFolder)
    {
        AtomicFile.WriteDirectory(Output, Overwrite, fillFolder);
        var resumeFolder = Path.GetDirectoryName(StatePath)!;
        if (Directory.Exists(resumeFolder)) Directory.Delete(resumeFolder, recursive: true);
    }
}
