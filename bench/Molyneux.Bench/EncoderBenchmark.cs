using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Molyneux.Onnx;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>The built-in pretrained encoders against the peer a C# user would pick for inference: the TorchSharp
/// ResNet18 and MiniLM imported by Molyneux, and ONNX Runtime running the very ONNX files they were imported from, in
/// one run on the same inputs, with the same thread count. Prints items per second and the ratio TorchSharp / ONNX
/// Runtime (above 1: Molyneux is faster). Inputs are already preprocessed (random pixels, fixed token ids), so only
/// the networks are timed. ResNet18.onnx takes one image at a time (its input is [1, 3, 224, 224]), so ONNX Runtime
/// runs batch 1; TorchSharp runs batch 1 and batch <c>--batch</c> (32). Settings: <c>--repeats N</c> (3, the median
/// is kept), <c>--images N</c> (32), <c>--texts N</c> (64), <c>--tokens N</c> (16 per text).</summary>
internal static class EncoderBenchmark
{
    public static void Run(BenchArguments args)
    {
        var (repeats, images, texts, tokens, batch) =
            (args.Int("--repeats", 3), args.Int("--images", 32), args.Int("--texts", 64), args.Int("--tokens", 16), args.Int("--batch", 32));
        var threads = get_num_threads();
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        Console.WriteLine($"\nencoders against ONNX Runtime ({threads} threads each, median of {repeats})");
        Console.WriteLine("| encoder | Molyneux (TorchSharp) | ONNX Runtime | ratio |");
        Console.WriteLine("|---|---:|---:|---:|");

        using (var resnet = ResNet18ImageNet.Load())
        using (var session = new InferenceSession(ResNet18ImageNet.ModelPath(ResNet18ImageNet.DefaultModelsFolder), options))
        using (var pixels = randn(images, 3, 224, 224, generator: new Generator(0)).mul(50))
        {
            var input = session.InputMetadata.Keys.Single();
            var onnx = Statistics.MedianSeconds(repeats, () =>
            {
                for (var i = 0; i < images; i++)
                {
                    var one = new DenseTensor<float>(pixels[i].data<float>().ToArray(), [1, 3, 224, 224]);
                    using var _ = session.Run([NamedOnnxValue.CreateFromTensor(input, one)]);
                }
            });
            double Torch(int size) => Statistics.MedianSeconds(repeats, () =>
            {
                using var __ = no_grad();
                for (var start = 0; start < images; start += size)
                {
                    using var scope = NewDisposeScope();
                    resnet.Model.forward(pixels[start..Math.Min(images, start + size)]);
                }
            });
            Row("ResNet18, batch 1, images/s", images / Torch(1), images / onnx);
            Row($"ResNet18, batch {batch} (ONNX Runtime: batch 1), images/s", images / Torch(batch), images / onnx);
        }

        var minilm = MiniLm.Load();
        using (var session = new InferenceSession(MiniLm.ReadResource(MiniLm.ModelResource), options))
        using (var ids = randint(1000, 20000, [texts, tokens], generator: new Generator(0)))
        using (var mask = ones(texts, tokens, dtype: ScalarType.Int64))
        using (var realTokens = mask.to(ScalarType.Bool))
        {
            var shape = new[] { texts, tokens };
            var inputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids.data<long>().ToArray(), shape)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask.data<long>().ToArray(), shape)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[texts * tokens], shape)),
            };
            var onnx = Statistics.MedianSeconds(repeats, () =>
            {
                using var _ = session.Run(inputs, ["last_hidden_state"]);
            });
            var torch = Statistics.MedianSeconds(repeats, () =>
            {
                using var __ = no_grad();
                using var scope = NewDisposeScope();
                minilm.Model.MeanPool(ids, realTokens);
            });
            Row($"MiniLM, batch {texts} × {tokens} tokens, texts/s", texts / torch, texts / onnx);
        }
        minilm.Model.Dispose();
    }

    private static void Row(string what, double molyneux, double onnxRuntime) =>
        Console.WriteLine($"| {what} | {molyneux:F1} | {onnxRuntime:F1} | {molyneux / onnxRuntime:F2} |");
}
