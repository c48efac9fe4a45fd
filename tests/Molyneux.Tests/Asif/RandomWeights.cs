using static TorchSharp.torch;

namespace Molyneux.Tests.Asif;

internal static class RandomWeights
{
    /// <summary>Sets every parameter to normal noise of <paramref name="scale"/>, so that none can be silently left
    /// at its initial value by a loader that skips it.</summary>
    public static T Fill<T>(T module, double scale, int seed) where T : nn.Module
    {
        var generator = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var parameter in module.parameters())
            parameter.copy_(randn(parameter.shape, generator: generator) * scale);
        return module;
    }
}
