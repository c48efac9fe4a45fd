using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Runtime;

/// <summary>A training loop's report after a step, as the scalars TensorBoard plots against <see cref="Step"/>.</summary>
public interface IStepScalars
{
    /// <summary>The step just done, counted from 1: the x of every scalar of this report.</summary>
    int Step { get; }

    /// <summary>(tag, value) pairs; a tag's slashes group its plots in TensorBoard ("loss", "lr", "probe/top1").</summary>
    IEnumerable<(string Tag, double Value)> Scalars();
}

/// <summary>Event files for <c>tensorboard --logdir FOLDER</c> (<c>--tensorboard FOLDER</c>), written by TorchSharp's
/// <see cref="SummaryWriter"/>: each event is appended and flushed as it comes, so a run that stops early leaves a
/// readable log up to its last step.</summary>
public sealed class TensorBoardLog
{
    private readonly SummaryWriter writer;

    public TensorBoardLog(string folder)
    {
        try
        {
            writer = utils.tensorboard.SummaryWriter(Path.GetFullPath(folder));
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new OptionException($"--tensorboard: cannot write event files in {Path.GetFullPath(folder)}: {error.Message}", error);
        }
    }

    /// <summary>The folder the event files are in.</summary>
    public string Folder => writer.LogDir;

    /// <summary>One point of the plot <paramref name="tag"/>.</summary>
    public void Scalar(string tag, double value, int step) => writer.add_scalar(tag, (float)value, step);

    /// <summary>Every scalar of a step's report, each tag under <paramref name="prefix"/> ("inversion/loss").</summary>
    public void Scalars(IStepScalars report, string prefix)
    {
        foreach (var (tag, value) in report.Scalars())
            if (double.IsFinite(value)) Scalar(prefix + "/" + tag, value, report.Step);
    }

    /// <summary>Images [N, 3, H, W] with values in [0, 1], shown as one grid (TensorBoard's Images tab).</summary>
    public void Images(string tag, Tensor images, int step)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"images must be [N, 3, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        using var scope = NewDisposeScope();
        writer.add_img(tag, images.detach().to(ScalarType.Float32).cpu().AtLeast(0).AtMost(1), step, dataformats: "NCHW");
    }

    /// <summary>A note TensorBoard shows in its Text tab (a trial's configuration).</summary>
    public void Text(string tag, string text, int step = 0) => writer.add_text(tag, text, step);

    /// <summary>Passes each report on to <paramref name="next"/> after writing its scalars under
    /// <paramref name="prefix"/>; reports arrive on the loop's thread, in step order.</summary>
    public IProgress<T> Recording<T>(string prefix, IProgress<T>? next) where T : IStepScalars =>
        new RecordingProgress<T>(this, prefix, next);

    private sealed class RecordingProgress<T>(TensorBoardLog log, string prefix, IProgress<T>? next) : IProgress<T> where T : IStepScalars
    {
        public void Report(T value)
        {
            log.Scalars(value, prefix);
            next?.Report(value);
        }
    }
}
