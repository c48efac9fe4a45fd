using Microsoft.ML.OnnxRuntime;
using Molyneux.Onnx;

namespace Molyneux.Tests.Onnx;

/// <summary>ImageNet ResNet18 loaded once for the parity tests: the TorchSharp import, and ONNX Runtime sessions on the
/// same ResNet18.onnx and ResNetPreprocess.onnx that the build copied next to the library.</summary>
public sealed class ResNet18Fixture : IDisposable
{
    public ResNet18Fixture()
    {
        Encoder = ResNet18ImageNet.Load();
        var options = new SessionOptions { IntraOpNumThreads = 2 };
        Model = new InferenceSession(ResNet18ImageNet.ModelPath(ResNet18ImageNet.DefaultModelsFolder), options);
        Preprocess = new InferenceSession(ResNet18ImageNet.PreprocessPath(ResNet18ImageNet.DefaultModelsFolder), options);
    }

    public ResNetImageEncoder Encoder { get; }

    /// <summary>ONNX Runtime on ResNet18.onnx: Input247 [1, 3, 224, 224] to Pooling395_Output_0 [1, 512, 1, 1].</summary>
    public InferenceSession Model { get; }

    /// <summary>ONNX Runtime on ResNetPreprocess.onnx: OriginalInput to PreprocessedInput.</summary>
    public InferenceSession Preprocess { get; }

    public void Dispose()
    {
        Encoder.Dispose();
        Model.Dispose();
        Preprocess.Dispose();
    }
}
