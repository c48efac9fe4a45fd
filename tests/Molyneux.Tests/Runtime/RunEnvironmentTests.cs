using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Tests.Runtime;

public sealed class RunEnvironmentTests
{
    [Fact]
    public void Capture_records_the_versions_device_dtype_and_threads_of_this_process()
    {
        var environment = RunEnvironment.Capture(new ComputeDevice(CPU, ScalarType.BFloat16));
        Assert.Equal("0.107.0", environment.TorchSharp);
        Assert.Equal(__version__, environment.Libtorch);
        Assert.Matches(@"^\d+\.\d+\.\d+", environment.Molyneux);
        Assert.Equal("cpu", environment.Device);
        Assert.Equal("bfloat16", environment.DType);
        Assert.Equal(get_num_threads(), environment.Threads);
        Assert.StartsWith(".NET ", environment.Dotnet);
    }

    [Theory]
    [InlineData("0.1.0+360f60b0c1", "0.1.0", "360f60b0c1")]
    [InlineData("0.1.0", "0.1.0", null)]
    public void The_informational_version_splits_into_version_and_commit(string informational, string version, string? commit)
    {
        var assembly = new StampedAssembly(informational);
        Assert.Equal((version, commit), RunEnvironment.Stamp(assembly));
    }

    private sealed class StampedAssembly(string informational) : System.Reflection.Assembly
    {
        public override object[] GetCustomAttributes(Type attributeType, bool inherit) =>
            attributeType == typeof(System.Reflection.AssemblyInformationalVersionAttribute) ? new Attribute[] { new System.Reflection.AssemblyInformationalVersionAttribute(informational) } : Array.Empty<Attribute>();
    }
}
