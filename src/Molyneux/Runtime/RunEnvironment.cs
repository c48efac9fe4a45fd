using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Molyneux.Runtime;

/// <summary>What produced a result, recorded in every report and training record so that a number can be traced to
/// the code and machine that gave it: Molyneux's version and the git commit it was built from, TorchSharp's and
/// libtorch's versions, .NET and the operating system, the device and dtype the model ran in, and libtorch's
/// intra-op thread count (which changes speed, and on CPU the last bits of reductions).</summary>
/// <param name="Commit">The commit the build came from (the SDK stamps it into the assembly); null outside a git
/// checkout.</param>
/// <remarks>Field names are fixed here (snake_case) so every report writes them alike, whatever its own naming.</remarks>
/// <param name="Molyneux">Molyneux's version.</param>
/// <param name="TorchSharp">The TorchSharp assembly's version.</param>
/// <param name="Libtorch">The native libtorch's version.</param>
/// <param name="Dotnet">The .NET runtime's version.</param>
/// <param name="OperatingSystem">The operating system's description.</param>
/// <param name="Device">The device the model ran on ("cpu", "cuda:0", …).</param>
/// <param name="DType">The dtype the model ran in ("float32", …).</param>
/// <param name="Threads">libtorch's intra-op thread count.</param>
public sealed record RunEnvironment(
    [property: JsonPropertyName("molyneux")] string Molyneux,
    [property: JsonPropertyName("commit")] string? Commit,
    [property: JsonPropertyName("torchsharp")] string TorchSharp,
    [property: JsonPropertyName("libtorch")] string Libtorch,
    [property: JsonPropertyName("dotnet")] string Dotnet,
    [property: JsonPropertyName("os")] string OperatingSystem,
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("dtype")] string DType,
    [property: JsonPropertyName("threads")] int Threads)
{
    /// <summary>The environment of this process, for a model on <paramref name="device"/>.</summary>
    public static RunEnvironment Capture(ComputeDevice device)
    {
        var (version, commit) = Stamp(typeof(RunEnvironment).Assembly);
        return new RunEnvironment(version, commit, Stamp(typeof(TorchSharp.torch).Assembly).Version, __version__,
            RuntimeInformation.FrameworkDescription, RuntimeInformation.OSDescription, device.Device.ToString(),
            device.DType.ToString().ToLowerInvariant(), get_num_threads());
    }

    /// <summary>The version and commit of an assembly's informational version, "1.2.3+commit".</summary>
    internal static (string Version, string? Commit) Stamp(Assembly assembly)
    {
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? (informational, null) : (informational[..plus], informational[(plus + 1)..]);
    }
}
