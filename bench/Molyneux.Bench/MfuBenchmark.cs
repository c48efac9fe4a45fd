using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.Bench;

/// <summary>Model FLOP utilisation of the four workloads on ViT-B/32- and ViT-B/16-shaped models: image encoding
/// (batch 32), text encoding (batch 256), an inversion step (10 images × the default 13 augmented copies, or fewer
/// copies where the activations would not fit in memory) and a fine-tuning step (batch 4 plus negatives, image tower
/// trainable, AdamW), in fp32 and, except fine-tuning, bf16; then how far bf16 moves the results from fp32's.</summary>
internal static class MfuBenchmark
{
    /// <summary>Tokens (images × copies × sequence length) one inversion step may carry at width 768: ViT-B/32's 10 × 13
    /// × 50, about 5 GB of activations kept for the backward pass in fp32.</summary>
    private const int InversionTokenBudget = 10 * 13 * 50;

    public static void Run(BenchArguments args, MachinePeak peak)
    {
        var repeats = args.Int("--repeats", 3);
        Console.WriteLine($"\n## MFU (median of {repeats} steps after 1 warm-up step)\n");
        Console.WriteLine("| model | workload | dtype | s/step | GFLOP/step | GFLOP/s | MFU | target |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|");
        var precision = new List<string>();
        ClipTextConfig? textMeasured = null;
        var textShared = false;
        foreach (var preset in args.List("--presets", "ViT-B-32", "ViT-B-16"))
        {
            var config = ClipConfig.Preset(preset);
            var copies = Math.Clamp(InversionTokenBudget / (10 * config.Vision.NumPositions), 1, 13);
            var measureText = textMeasured != config.Text;
            textShared |= !measureText;
            textMeasured = config.Text;
            var results = new Dictionary<ScalarType, (Tensor? Images, Tensor? Texts, KnowledgeTransfer.InversionResult? Inversion)>();
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            {
                using var clip = RandomClip.Create(preset, dtype);
                var images = EncodingLoop.Images(clip, 32);
                Report(preset, images, dtype, repeats, peak, target: "≥ 60% (fp32)");
                var texts = measureText ? EncodingLoop.Texts(clip, 256) : null;
                if (texts is not null) Report(preset, texts, dtype, repeats, peak, target: "");
                var inversion = new InversionLoop(clip, 10, copies);
                Report(preset, inversion, dtype, repeats, peak, target: "≥ 50% (fp32)");
                if (dtype == ScalarType.Float32) Report(preset, new FineTuneLoop(clip, 4, 32), dtype, repeats, peak, target: "≥ 50% (fp32)");
                results[dtype] = (images.LastFeatures, texts?.LastFeatures, inversion.LastResult);
            }
            precision.Add(PrecisionRow(preset, results[ScalarType.Float32], results[ScalarType.BFloat16]));
        }
        if (textShared)
            Console.WriteLine("\nText encoding is measured once per distinct text tower (ViT-B/32 and ViT-B/16 share theirs).");
        Console.WriteLine("\n## bf16 against fp32 (same random weights, inputs and seed)\n");
        Console.WriteLine("| model | image features cosine (mean / min) | text features cosine (mean / min) | inversion: objective (fp32 → bf16) after the last step, max |Δ cosine| over steps | inverted pixels: mean |Δ| |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var row in precision) Console.WriteLine(row);
    }

    /// <summary>Runs one warm-up step and <paramref name="repeats"/> timed ones, and prints the table row.</summary>
    internal static double Report(string preset, IStepLoop loop, ScalarType dtype, int repeats, MachinePeak peak, string target)
    {
        var recorder = new StepRecorder();
        loop.Run(1 + repeats, recorder);
        var seconds = recorder.MedianStepSeconds(warmUp: 1);
        var rate = loop.FlopsPerStep / seconds;
        Console.WriteLine($"| {preset} | {loop.Name} | {RandomClip.DTypeName(dtype)} | {seconds:F3} | {loop.FlopsPerStep / 1e9:F1} | {rate / 1e9:F1} | " +
                          $"{100 * rate / peak.For(dtype):F0}% | {target} |");
        return seconds;
    }

    private static string PrecisionRow(string preset,
        (Tensor? Images, Tensor? Texts, KnowledgeTransfer.InversionResult? Inversion) fp32,
        (Tensor? Images, Tensor? Texts, KnowledgeTransfer.InversionResult? Inversion) bf16)
    {
        using var scope = NewDisposeScope();
        static string Cosines(Tensor? a, Tensor? b)
        {
            if (a is null || b is null) return "(not measured)";
            var cosines = nn.functional.cosine_similarity(a, b, dim: -1);
            return $"{cosines.mean().item<float>():F5} / {cosines.min().item<float>():F5}";
        }
        var (curve32, curve16) = (fp32.Inversion!.LossCurve, bf16.Inversion!.LossCurve);
        var drift = curve32.Zip(curve16).Max(pair => Math.Abs(pair.First.Cosine - pair.Second.Cosine));
        var pixels = (fp32.Inversion.Inverted - bf16.Inversion.Inverted).abs().mean().item<float>();
        return $"| {preset} | {Cosines(fp32.Images, bf16.Images)} | {Cosines(fp32.Texts, bf16.Texts)} | " +
               $"{curve32[^1].Cosine:F4} → {curve16[^1].Cosine:F4}, {drift:F4} | {pixels:F5} |";
    }
}
