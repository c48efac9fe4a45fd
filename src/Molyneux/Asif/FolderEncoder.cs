using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>What every unimodal encoder read from a Hugging Face folder has: its module, the device it runs on, and
/// its identity, the SHA-256 of model.safetensors (see <see cref="EncoderFolder.LoadWeights"/>).</summary>
public abstract class FolderEncoder<TModel>(TModel model, ComputeDevice device, string identity) : IDisposable where TModel : nn.Module
{
    public TModel Model { get; } = model;

    public ComputeDevice Device { get; } = device;

    public string Identity { get; } = identity;

    public void Dispose() => Model.Dispose();
}
