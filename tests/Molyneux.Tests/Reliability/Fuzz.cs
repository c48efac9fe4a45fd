using System.Diagnostics;
using System.Runtime.ExceptionServices;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace Molyneux.Tests.Reliability;

/// <summary>The reliability property every parser is fuzzed against: on any input it either returns, or throws its
/// own documented <see cref="MolyneuxException"/> subtype — never another exception (IndexOutOfRange,
/// NullReference, Overflow, OutOfMemory, a library's ArgumentException …) and never a hang.
///
/// The default test suite runs <see cref="SmokeInputs"/> inputs per parser; a long campaign sets
/// <c>MOLYNEUX_FUZZ_INPUTS</c> (see docs/reliability.md). Inputs are random (FsCheck chooses a new seed each run), so a
/// failure prints the input's recipe, from which the bad input can be rebuilt as a regression test.</summary>
internal static class Fuzz
{
    public const string InputsVariable = "MOLYNEUX_FUZZ_INPUTS";

    /// <summary>Keeps the five fuzz tests of the default suite well under 30 s together on a busy two-core machine.</summary>
    public const int SmokeInputs = 1500;

    /// <summary>Generous, because the machine may be shared; what it catches is an input that never returns.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static int Inputs =>
        int.TryParse(Environment.GetEnvironmentVariable(InputsVariable), out var count) && count > 0 ? count : SmokeInputs;

    /// <summary>Feeds <see cref="Inputs"/> generated inputs to <paramref name="parse"/>, which returns normally for an
    /// input it accepts (after checking what it read) and may throw <typeparamref name="TDocumented"/> for one it
    /// rejects. Anything else fails the test with the input's description.</summary>
    public static void Run<TInput, TDocumented>(ITestOutputHelper output, string parser, Gen<TInput> inputs, Action<TInput> parse)
        where TDocumented : MolyneuxException
    {
        var (accepted, rejected) = (0, 0);
        var clock = Stopwatch.StartNew();
        var property = Prop.ForAll(inputs.ToArbitrary(), input =>
        {
            // The parser runs on another thread so that a hang is reported as a failure instead of stalling the run.
            var run = Task.Run(() => parse(input));
            try
            {
                if (!run.Wait(Timeout))
                    throw new TimeoutException($"{parser} did not return within {Timeout.TotalSeconds} s");
                accepted++;
            }
            catch (AggregateException wrapped) when (wrapped.InnerException is TDocumented)
            {
                rejected++;
            }
            catch (AggregateException wrapped)
            {
                // Unwrapped, FsCheck's report names the parser's own exception and stack.
                ExceptionDispatchInfo.Throw(wrapped.InnerException!);
            }
        });
        property.Check(Config.QuickThrowOnFailure.WithMaxTest(Inputs).WithQuietOnSuccess(true));
        output.WriteLine($"fuzz {parser}: {accepted + rejected} inputs in {clock.Elapsed.TotalSeconds:F1} s: {accepted} accepted, " +
                         $"{rejected} rejected with {typeof(TDocumented).Name}, 0 other exceptions or hangs");
    }
}
