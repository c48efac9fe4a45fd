using Microsoft.ML.OnnxRuntime;
using Molyneux.Asif;
using Molyneux.Onnx;

namespace Molyneux.Tests.Onnx;

/// <summary>all-MiniLM-L6-v2 loaded once for the parity tests: the TorchSharp import and an ONNX Runtime session on
/// the same model.onnx bytes.</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmFixture()
    {
        Encoder = MiniLm.Load();
        var options = new SessionOptions { IntraOpNumThreads = 2 };
        Session = new InferenceSession(MiniLm.ReadResource(MiniLm.ModelResource), options);
    }

    public BertTextEncoder Encoder { get; }

    public InferenceSession Session { get; }

    public void Dispose()
    {
        Encoder.Dispose();
        Session.Dispose();
    }
}
