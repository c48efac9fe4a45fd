using System.Diagnostics;
using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Cli.Commands;
using Molyneux.KnowledgeTransfer;
using Molyneux.Tests.Cli;
using static TorchSharp.torch;

namespace Molyneux.Tests.Reliability;

/// <summary>Acceptance tests of resumable inversion and fine-tuning: the real CLI, in a child process, is killed
/// with SIGKILL once it has saved its state, resumed with --resume, and must end where an uninterrupted run with
/// the same seed ends (images and weights within 1e-6, the same loss curve).</summary>
public sealed class KillAndResumeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private static string ModelA => TestPaths.GoldenClip("model_a/hf");

    /// <summary>The CLI the test project builds beside itself (it references Molyneux.Cli).</summary>
    private static Process Start(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Molyneux.Cli.dll"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // One thread, as in every run of the test, so that runs compare bit for bit.
        start.Environment["OMP_NUM_THREADS"] = "1";
        return Process.Start(start)!;
    }

    private static void RunToEnd(IEnumerable<string> arguments)
    {
        using var process = Start(arguments);
        var (output, error) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        if (!process.WaitForExit(Patience))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"molyneux {string.Join(' ', arguments)} did not finish within {Patience}");
        }
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {error.Result}{output.Result}");
    }

    /// <summary>Starts a run, waits until its state file is on disk, and kills it there with SIGKILL.</summary>
    private static void RunAndKill(IEnumerable<string> arguments, string output, string statePath)
    {
        using var process = Start(arguments);
        var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        var clock = Stopwatch.StartNew();
        while (!File.Exists(statePath))
        {
            if (process.HasExited) Assert.Fail($"the run ended (exit {process.ExitCode}) before saving its state: {stderr.Result}{stdout.Result}");
            if (clock.Elapsed > Patience)
            {
                process.Kill();
                Assert.Fail($"no state at {statePath} after {Patience}");
            }
            Thread.Sleep(5);
        }
        process.Kill();
        process.WaitForExit();
        Assert.False(Directory.Exists(output), "the run finished before it was killed");
    }

    /// <summary>Runs <paramref name="command"/> uninterrupted into one folder, and into another killed once it has
    /// a state, refused without --resume, then resumed; checks the state's step with <paramref name="stepOfState"/>
    /// and that it is gone at the end. Returns both output folders.</summary>
    private static (string Uninterrupted, string Resumed) RunBothWays(TestPaths.TempFolder folder, Func<string, string[]> command,
        string stateFile, Func<string, int> stepOfState, int saveEvery, int steps)
    {
        var (uninterrupted, resumed) = (folder.File("uninterrupted"), folder.File("resumed"));
        RunToEnd(command(uninterrupted));

        var statePath = Path.Combine(resumed + ".resume", stateFile);
        RunAndKill(command(resumed), resumed, statePath);
        var step = stepOfState(statePath);
        Assert.True(step % saveEvery == 0 && step > 0 && step < steps, $"state at step {step}");
        Assert.Contains("pass --resume to continue it", CliRunner.Run(command(resumed)).Error);
        RunToEnd([.. command(resumed), "--resume"]);
        Assert.False(Directory.Exists(resumed + ".resume"));
        return (uninterrupted, resumed);
    }

    [Fact]
    public void Inversion_killed_and_resumed_equals_an_uninterrupted_run()
    {
        using var folder = new TestPaths.TempFolder();
        var concepts = TransferCommandTests.WriteConcepts(folder);
        string[] Invert(string output) => ["invert", "--model", ModelA, "--concepts", concepts, "--out", output, "--steps", "60",
            "--images-per-concept", "2", "--copies", "2", "--seed", "7", "--save-every", "4"];

        var (uninterrupted, resumed) = RunBothWays(folder, Invert, ConceptInverter.StateFile, path =>
        {
            using var state = InversionState.Load(path);
            return state.Step;
        }, saveEvery: 4, steps: 60);

        using var expected = InvertedConcepts.Load(uninterrupted);
        using var actual = InvertedConcepts.Load(resumed);
        Assert.True((actual.Images - expected.Images).abs().max().item<float>() <= 1e-6);
        Assert.Equal(File.ReadAllText(Path.Combine(uninterrupted, InversionResult.LossCurveFile)), File.ReadAllText(Path.Combine(resumed, InversionResult.LossCurveFile)));
    }

    [Fact]
    public void Fine_tuning_killed_and_resumed_equals_an_uninterrupted_run()
    {
        using var folder = new TestPaths.TempFolder();
        var inverted = folder.File("inverted");
        var invert = CliRunner.Run("invert", "--model", ModelA, "--concepts", TransferCommandTests.WriteConcepts(folder), "--out", inverted,
            "--steps", "2", "--images-per-concept", "3", "--copies", "1");
        Assert.True(invert.ExitCode == 0, invert.Error);
        var negatives = TransferCommandTests.WriteNegatives(folder);
        string[] FineTune(string output) => ["finetune", "--model", ModelA, "--images", inverted, "--out", output, "--train", "both",
            "--steps", "40", "--batch-size", "4", "--lr", "1e-4", "--negatives", negatives, "--seed", "5", "--save-every", "3"];

        var (uninterrupted, resumed) = RunBothWays(folder, FineTune, FineTuneCommand.StateFile, path =>
        {
            using var state = FineTuneState.Load(path);
            return state.Step;
        }, saveEvery: 3, steps: 40);

        using var scope = NewDisposeScope();
        using var expected = SafetensorsFile.Open(Path.Combine(uninterrupted, "model.safetensors"));
        using var actual = SafetensorsFile.Open(Path.Combine(resumed, "model.safetensors"));
        Assert.Equal(expected.Entries.Keys.Order(), actual.Entries.Keys.Order());
        Assert.All(expected.Entries.Keys, name => Assert.True((actual.Read(name) - expected.Read(name)).abs().max().item<float>() <= 1e-6, name));
        using var expectedRecord = JsonDocument.Parse(File.ReadAllText(Path.Combine(uninterrupted, FineTuneCommand.RecordFile)));
        using var actualRecord = JsonDocument.Parse(File.ReadAllText(Path.Combine(resumed, FineTuneCommand.RecordFile)));
        Assert.Equal(expectedRecord.RootElement.GetProperty("losses").ToString(), actualRecord.RootElement.GetProperty("losses").ToString());
    }
}
