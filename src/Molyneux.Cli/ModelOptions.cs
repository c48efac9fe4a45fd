using System.CommandLine;
using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Worlds;

namespace Molyneux.Cli;

/// <summary>The options every command that loads a model shares.</summary>
public sealed class ModelOptions
{
    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = "A HF CLIPModel or VisionTextDualEncoderModel folder, an open_clip folder (a CLIP, or a CoCa: its config has multimodal_cfg), a .safetensors(.gz) file in HF or OpenAI naming, or a hub id " +
                      "(org/name[@revision]) already in the Hugging Face cache, found offline; or a built-in model, made on first use: " +
                      $"{string.Join(", ", BuiltInModels.All.Select(model => model.Name))} (ImageNet's ResNet18 and MiniLM aligned on that world; default {BuiltInModels.Default.Name})",
    };

    /// <summary>A file, or a preset name (<see cref="ClipConfig.FromFileOrPreset"/> decides, when the model loads).</summary>
    public Option<string?> Config { get; } = new("--config")
    {
        Description = $"config.json (HF) or open_clip model config, for weight files without one; or a shipped preset: {string.Join(", ", ClipConfig.PresetNames)}",
    };

    public Option<string?> Tokenizer { get; } = new("--tokenizer") { Description = "Folder with vocab.json + merges.txt, or bpe_simple_vocab_16e6.txt.gz" };

    public Option<int?> TextHeads { get; } = new("--text-heads") { Description = "Text attention heads, for weight files without a config" };

    public Option<int?> VisionHeads { get; } = new("--vision-heads") { Description = "Vision attention heads, for weight files without a config" };

    public Option<int?> ImageSize { get; } = new("--image-size") { Description = "Interpolate position embeddings to take images of this size" };

    public Option<string> Device { get; } = new("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };

    public Option<string> DType { get; } = new("--dtype") { Description = "fp32, or bf16 for faster inference", DefaultValueFactory = _ => "fp32" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Config, Tokenizer, TextHeads, VisionHeads, ImageSize, Device, DType })
            command.Options.Add(option);
    }

    /// <summary>The model path given (a hub id resolved to its snapshot in the Hugging Face cache, as eval caption does for
    /// --clip-model), a built-in model's folder (made on first use) for its name, or the default model's.</summary>
    /// <param name="home">Where built-in models are cached; default <see cref="MolyneuxHome.Default"/>.</param>
    public string Path(ParseResult parse, CliContext context, string? home = null)
    {
        var given = parse.GetValue(Model);
        return BuiltInNamed(given) is { } builtIn
            ? builtIn.Resolve(home, new Progress<string>(message => context.Info.WriteLine(message)), CliProgress.Alignment(context))
            : HuggingFaceCache.ResolveModelPath(given!, Environment.GetEnvironmentVariable);
    }

    /// <summary>The built-in model <c>--model</c> names: the default without the option, the one of that name unless a
    /// file or folder of that name exists (a user's folder wins), else null.</summary>
    internal static BuiltInModel? BuiltInNamed(string? given) =>
        given is null ? BuiltInModels.Default
        : File.Exists(given) || Directory.Exists(given) ? null
        : BuiltInModels.Find(given);

    /// <summary>The model, of whatever kind the path holds (<see cref="VisionLanguageCheckpoint"/>).</summary>
    /// <param name="home">Where the default model is cached; default <see cref="MolyneuxHome.Default"/>.</param>
    public IVisionLanguageModel Load(ParseResult parse, CliContext context, string? home = null) =>
        VisionLanguageCheckpoint.Load(Path(parse, context, home), LoadOptions(parse));

    /// <summary>The model for commands that work on CLIP's own layout (OpenAI naming, the ViT's layers).</summary>
    public ClipPipeline LoadClip(ParseResult parse, CliContext context, string purpose)
    {
        var path = Path(parse, context);
        if (DualEncoderCheckpoint.IsDualEncoderFolder(path))
            throw new OptionException($"{path}: {purpose} needs a CLIP model; this folder holds a vision_text_dual_encoder");
        return ClipCheckpoint.Load(path, LoadOptions(parse));
    }

    private ClipLoadOptions LoadOptions(ParseResult parse)
    {
        var heads = new[] { (parse.GetValue(TextHeads), "--text-heads"), (parse.GetValue(VisionHeads), "--vision-heads"), (parse.GetValue(ImageSize), "--image-size") };
        foreach (var (value, name) in heads)
            if (value is <= 0) throw new OptionException($"{name}: must be a positive integer, got {value}");
        return new ClipLoadOptions
        {
            ConfigPath = parse.GetValue(Config),
            TokenizerPath = parse.GetValue(Tokenizer),
            TextHeads = parse.GetValue(TextHeads),
            VisionHeads = parse.GetValue(VisionHeads),
            ImageSize = parse.GetValue(ImageSize),
            Device = ComputeDevice.Parse(parse.GetValue(Device)!, parse.GetValue(DType)!),
        };
    }
}
