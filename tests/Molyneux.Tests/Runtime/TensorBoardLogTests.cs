using Molyneux.Runtime;
using SkiaSharp;
using static TorchSharp.torch;

namespace Molyneux.Tests.Runtime;

public sealed class TensorBoardLogTests
{
    private readonly record struct Report(int Step, double Loss) : IStepScalars
    {
        public IEnumerable<(string Tag, double Value)> Scalars() => [("loss", Loss), ("skipped", double.NaN)];
    }

    [Fact]
    public void Scalars_images_and_text_are_written_as_TensorBoard_reads_them()
    {
        using var folder = new TestPaths.TempFolder();
        var log = new TensorBoardLog(folder.File("tb"));
        // Synchronous forwarding: what the next progress hears, it hears on this thread, in order.
        var forwarded = new List<int>();
        var progress = log.Recording("train", new CollectingProgress(forwarded));
        progress.Report(new Report(1, 2.5));
        progress.Report(new Report(2, 1.25));
        using var images = zeros(2, 3, 8, 8);
        images[0, 0] = ones(8, 8);  // one red image, one black
        log.Images("inversion/images", images, 7);
        log.Text("trial01", "image, lr 1e-05");

        var entries = TensorBoardEvents.Read(folder.File("tb"));
        Assert.Equal([1, 2], forwarded);
        var losses = entries.Where(e => e.Tag == "train/loss").ToList();
        Assert.Equal([(1, 2.5f), (2, 1.25f)], losses.Select(e => (e.Step, e.Scalar!.Value)));
        Assert.DoesNotContain(entries, e => e.Tag == "train/skipped");  // not finite: left out, not plotted as a gap
        var image = Assert.Single(entries, e => e.Tag == "inversion/images").Image!;
        using var bitmap = SKBitmap.Decode(image.EncodedImageString.ToByteArray());
        Assert.True(bitmap.Width >= 16 && bitmap.Height >= 8, $"{bitmap.Width}×{bitmap.Height}: not a grid of two 8×8 images");
        Assert.Contains(entries, e => e.Tag.StartsWith("trial01", StringComparison.Ordinal) && e.Text == "image, lr 1e-05");
    }

    [Fact]
    public void Images_of_the_wrong_shape_are_refused_with_their_shape()
    {
        using var folder = new TestPaths.TempFolder();
        var log = new TensorBoardLog(folder.File("tb"));
        using var gray = zeros(2, 1, 8, 8);
        var error = Assert.Throws<ArgumentException>(() => log.Images("x", gray, 0));
        Assert.Contains("[2, 1, 8, 8]", error.Message);
    }

    private sealed class CollectingProgress(List<int> steps) : IProgress<Report>
    {
        public void Report(Report value) => steps.Add(value.Step);
    }
}
