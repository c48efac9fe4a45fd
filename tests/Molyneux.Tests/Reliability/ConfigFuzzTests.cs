using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Xunit.Abstractions;

namespace Molyneux.Tests.Reliability;

/// <summary>Fuzzes the configuration readers, <see cref="ClipConfig.FromFile"/> (HF and open_clip layouts) and
/// <see cref="ClipImageProcessor.FromFile"/>: a file is either read into a configuration that writes back and reads
/// again unchanged, or rejected with <see cref="ConfigException"/>.</summary>
public sealed class ConfigFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPaths.TempFolder folder = new();

    public void Dispose() => folder.Dispose();

    private const string OpenClipConfig = """
        { "embed_dim": 512, "quick_gelu": true,
          "vision_cfg": { "image_size": 224, "layers": 12, "width": 768, "patch_size": 16, "head_width": 64, "mlp_ratio": 4.0 },
          "text_cfg": { "context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12, "mlp_ratio": 4.0 } }
        """;

    /// <summary>HF's older layout, with plain numbers for the sizes.</summary>
    private const string OldPreprocessorConfig = """
        { "crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
          "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
          "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224 }
        """;

    /// <summary>Structural edits of each seed most of the time, byte edits of its text, and now and then a random
    /// document made of the seeds' keys.</summary>
    private static Gen<Mutant> Inputs(params (string Name, string Json)[] seeds)
    {
        var parsed = seeds.Select(seed => (seed.Name, Node: JsonNode.Parse(seed.Json)!)).ToArray();
        var keys = parsed.SelectMany(seed => Keys(seed.Node)).Distinct().ToArray();
        var structural = parsed.Select(seed => Mutations.Json(seed.Name, seed.Node).Select(edited => new Mutant(edited.Recipe, Encoding.UTF8.GetBytes(edited.Json))));
        var textual = seeds.Select(seed => Mutations.Bytes(seed.Name, Encoding.UTF8.GetBytes(seed.Json)));
        var random = Mutations.RandomJson(keys).Select(node =>
        {
            var text = node?.ToJsonString() ?? "null";
            return new Mutant($"random document {text}", Encoding.UTF8.GetBytes(text));
        });
        return Gen.Frequency([(5, Gen.OneOf(structural)), (2, Gen.OneOf(textual)), (1, random)]);
    }

    private static IEnumerable<string> Keys(JsonNode node) => node switch
    {
        JsonObject o => o.SelectMany(p => p.Value is null ? [p.Key] : Keys(p.Value).Prepend(p.Key)),
        JsonArray a => a.OfType<JsonNode>().SelectMany(Keys),
        _ => [],
    };

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Fuzz_clip_config_reader_throws_only_config_exceptions()
    {
        var path = folder.File("config.json");
        var inputs = Inputs(
            ("golden config.json", File.ReadAllText(TestPaths.GoldenClip("model_a/hf/config.json"))),
            ("ViT-B-32 preset", ClipConfig.Preset("ViT-B-32").ToHuggingFaceJson().ToJsonString()),
            ("open_clip ViT-B-16", OpenClipConfig));
        Fuzz.Run<Mutant, ConfigException>(output, "ClipConfig", inputs, mutant =>
        {
            File.WriteAllBytes(path, mutant.Bytes);
            var config = ClipConfig.FromFile(path);
            Assert.Equal(config, ClipConfig.Parse(config.ToHuggingFaceJson(), "written back"));
        });
    }

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Fuzz_preprocessor_config_reader_throws_only_config_exceptions()
    {
        var path = folder.File("preprocessor_config.json");
        var written = folder.File("written.json");
        ClipImageProcessor.Default(224).Save(written);
        var inputs = Inputs(("HF preprocessor_config.json", File.ReadAllText(written)), ("old-layout preprocessor_config.json", OldPreprocessorConfig));
        Fuzz.Run<Mutant, ConfigException>(output, "ClipImageProcessor", inputs, mutant =>
        {
            File.WriteAllBytes(path, mutant.Bytes);
            var processor = ClipImageProcessor.FromFile(path);
            processor.Save(written);
            Assert.Equal(Settings(processor), Settings(ClipImageProcessor.FromFile(written)));
        });
    }

    private static string Settings(ClipImageProcessor p) =>
        $"{p.ShortestEdge} {p.CropHeight}x{p.CropWidth} resize={p.DoResize} crop={p.DoCenterCrop} rescale={p.DoRescale}:{p.RescaleFactor:R} " +
        $"normalize={p.DoNormalize} mean=[{string.Join(", ", p.Mean)}] std=[{string.Join(", ", p.Std)}] resample={p.Resample}";
}
