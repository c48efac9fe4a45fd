using Molyneux.Cli;
using static TorchSharp.torch;

namespace Molyneux.Tests.Cli;

/// <summary>The options every command takes: --threads (libtorch's intra-op threads) and --quiet (results and errors only).
/// One class, so the tests that change the process-wide thread count never run side by side.</summary>
[Collection(ProcessWideThreads.Name)]
public sealed class GlobalOptionsTests
{
    private static string GoldenModel => TestPaths.GoldenClip(Path.Combine("model_a", "hf"));

    [Fact]
    public void Threads_sets_libtorchs_count_for_the_command_and_puts_it_back()
    {
        var (before, decodingBefore) = (get_num_threads(), Molyneux.Imaging.ImagePipeline.DecodeWorkers);
        var wanted = before == 1 ? 2 : 1;
        using (LibtorchThreads.Use(wanted))
            Assert.Equal((wanted, wanted), (get_num_threads(), Molyneux.Imaging.ImagePipeline.DecodeWorkers));
        Assert.Equal((before, decodingBefore), (get_num_threads(), Molyneux.Imaging.ImagePipeline.DecodeWorkers));
        using (LibtorchThreads.Use(null))
            Assert.Equal(before, get_num_threads());
    }

    [Fact]
    public void A_command_runs_under_threads_one_before_or_after_the_command_name()
    {
        var before = get_num_threads();
        var first = CliRunner.Run("--threads", "1", "info", "--model", GoldenModel, "--json");
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Contains("\"identity (sha256 of weights)\"", first.Output);
        var after = CliRunner.Run("info", "--model", GoldenModel, "--json", "--threads", "1");
        Assert.True(after.ExitCode == 0, after.Error);
        Assert.Equal(before, get_num_threads());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public void Threads_below_one_is_refused_with_one_error_line(string threads)
    {
        var result = CliRunner.Run("info", "--model", GoldenModel, "--threads", threads);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: --threads: must be at least 1, got {threads}", result.Error.Trim());
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void Quiet_drops_the_progress_lines_but_keeps_the_result_and_the_errors()
    {
        using var folder = new TestPaths.TempFolder();
        string[] pretrain = ["pretrain", "--data", "shapes", "--preset", "micro", "--steps", "2", "--batch-size", "8",
            "--vocab-size", "600", "--shapes-count", "16"];
        var loud = CliRunner.Run([.. pretrain, "--out", folder.File("loud")]);
        Assert.True(loud.ExitCode == 0, loud.Error);
        Assert.Contains("step 2/2", loud.Error);

        var quiet = CliRunner.Run([.. pretrain, "--out", folder.File("quiet"), "--quiet"]);
        Assert.True(quiet.ExitCode == 0, quiet.Error);
        Assert.Equal("", quiet.Error);
        Assert.True(File.Exists(Path.Combine(folder.File("quiet"), "training.json")));

        var refused = CliRunner.Run([.. pretrain, "--out", folder.File("quiet"), "-q"]);
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("error: ", refused.Error);
    }
}
