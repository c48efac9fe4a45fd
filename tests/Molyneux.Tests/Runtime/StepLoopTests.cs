using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Tests.Runtime;

public sealed class StepLoopTests
{
    [Fact]
    public void Steps_run_from_the_first_and_the_state_is_saved_when_due_but_never_after_the_last_step()
    {
        var (ran, saved) = (new List<int>(), new List<int>());
        new StepLoop("test", 7) { SaveEvery = 2 }.Run(1, ran.Add, saved.Add);
        Assert.Equal([1, 2, 3, 4, 5, 6], ran);
        Assert.Equal([2, 4, 6], saved);

        saved.Clear();
        new StepLoop("test", 3) { SaveInterval = TimeSpan.Zero }.Run(0, _ => { }, saved.Add);
        Assert.Equal([1, 2], saved);
    }

    [Fact]
    public void A_step_whose_numbers_are_not_finite_stops_the_loop_naming_the_task_the_step_and_the_last_good_state()
    {
        using var folder = new TestPaths.TempFolder();
        var state = folder.File("state.bin");
        var loop = new StepLoop("fine-tuning", 10) { SaveEvery = 2, StatePath = state, Advice = "lower --lr" };
        var saves = 0;
        var error = Assert.Throws<DivergenceException>(() => loop.Run(0, step =>
        {
            using var values = tensor(new[] { 1f, step == 4 ? float.NaN : 2f });
            loop.RequireFinite(step, isfinite(values), "the loss or a gradient");
        }, done =>
        {
            saves++;
            File.WriteAllText(state, $"{done}");
        }));
        Assert.Equal($"fine-tuning diverged at step 5: the loss or a gradient is not finite; the last good state is {state} (lower --lr)", error.Message);
        Assert.Equal(2, saves);
        Assert.Equal("4", File.ReadAllText(state));

        // Before any state exists, the message does not send the user to one.
        var early = Assert.Throws<DivergenceException>(() => new StepLoop("pretraining", 3) { StatePath = folder.File("none") }
            .Run(0, step => new StepLoop("pretraining", 3).RequireFinite(step, double.PositiveInfinity, "the loss")));
        Assert.Equal("pretraining diverged at step 1: the loss is Infinity", early.Message);
    }

    [Fact]
    public void Cancelling_stops_before_the_next_step_saving_first_when_asked()
    {
        foreach (var saveWhenCancelled in new[] { true, false })
        {
            using var cancel = new CancellationTokenSource();
            var (ran, saved) = (new List<int>(), new List<int>());
            Assert.Throws<OperationCanceledException>(() => new StepLoop("test", 10) { SaveWhenCancelled = saveWhenCancelled }.Run(0, step =>
            {
                ran.Add(step);
                if (step == 2) cancel.Cancel();
            }, saved.Add, cancel.Token));
            Assert.Equal([0, 1, 2], ran);
            Assert.Equal(saveWhenCancelled ? [3] : [], saved);
        }
    }
}
