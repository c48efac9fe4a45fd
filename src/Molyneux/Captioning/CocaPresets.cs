namespace Molyneux.Captioning;

/// <summary>CoCa shapes small enough to pretrain from scratch on a CPU (<c>molyneux pretrain --objective coca</c>), as
/// open_clip model configs: an attentional pooler with one contrastive query plus a few for the decoder, a unimodal
/// text tower with a CLS token, and OpenAI's CLIP BPE vocabulary (49 408), which open_clip's CoCa models use and
/// <see cref="Captioner"/> decodes with. They live here as data rather than beside the CLIP presets because those are
/// read as HF CLIP configs, which a CoCa is not.</summary>
public static class CocaPresets
{
    /// <summary>coca-micro: 32-px scenes in 4-px patches, width 64, two layers per tower (tests and the shapes world).</summary>
    public static CocaConfig Micro { get; } = Build(imageSize: 32, patchSize: 4, width: 64, headWidth: 32, layers: 2, queries: 17);

    /// <summary>coca-tiny: 64-px images in 8-px patches, width 128, three layers per tower (emoji, captions files).</summary>
    public static CocaConfig Tiny { get; } = Build(imageSize: 64, patchSize: 8, width: 128, headWidth: 32, layers: 3, queries: 33);

    public static IReadOnlyList<string> Names { get; } = ["coca-micro", "coca-tiny"];

    /// <summary>The preset called <paramref name="name"/> (case aside), or null.</summary>
    public static CocaConfig? Find(string name) => name.ToLowerInvariant() switch
    {
        "coca-micro" => Micro,
        "coca-tiny" => Tiny,
        _ => null,
    };

    /// <summary>A preset by name, or an open_clip CoCa model config file.</summary>
    public static CocaConfig FromFileOrPreset(string fileOrPreset) =>
        File.Exists(fileOrPreset) ? CocaConfig.FromFile(fileOrPreset)
        : Find(fileOrPreset) ?? throw new ConfigException($"{fileOrPreset}: neither a CoCa preset ({string.Join(", ", Names)}) nor an existing open_clip model config file");

    private static CocaConfig Build(int imageSize, int patchSize, int width, int headWidth, int layers, int queries)
    {
        var heads = width / headWidth;
        return new CocaConfig(width,
            new CocaVisionConfig(ImageSize: imageSize, Layers: layers, Width: width, HeadWidth: headWidth, PatchSize: patchSize,
                AttentionalPool: true, AttnPoolerQueries: queries, AttnPoolerHeads: heads, OutputTokens: true),
            new CocaTextConfig(ContextLength: 32, VocabSize: 49408, Width: width, Heads: heads, Layers: layers, EmbedCls: true, OutputTokens: true),
            new CocaMultimodalConfig(ContextLength: 32, VocabSize: 49408, Width: width, Heads: heads, Layers: layers, AttnPoolerHeads: heads));
    }
}
