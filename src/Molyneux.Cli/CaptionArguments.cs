using System.CommandLine;
using Molyneux.Captioning;
using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp;

namespace Molyneux.Cli;

/// <summary>The CoCa model and generation options <c>caption</c> and <c>eval caption</c> share. Defaults are
/// <see cref="CaptionOptions"/>' except beam search's three beams and sampling's top-k of 50 and top-p of 0.9
/// (open_clip's top-k of 1 would be greedy, its top-p of 0.1 nearly so).</summary>
public sealed class CaptionArguments
{
    private static readonly CaptionOptions Defaults = new();

    private static readonly Dictionary<string, CaptionDecoding> Decodings = new()
    {
        ["greedy"] = CaptionDecoding.Greedy, ["beam"] = CaptionDecoding.BeamSearch, ["top-k"] = CaptionDecoding.TopK, ["top-p"] = CaptionDecoding.TopP,
    };

    public Option<string> Model { get; } = new("--model", "-m") { Description = "CoCa weights in open_clip naming: a .safetensors(.gz) file, or a folder holding model.safetensors", Required = true };

    public Option<string?> Config { get; } = new("--config") { Description = "The open_clip model config file (e.g. coca_ViT-B-32.json; default: the model folder's open_clip_config.json); the shipped presets are CLIP's, not CoCa's" };

    public Option<string> Decoding { get; } = DecodingOption();

    public Option<int> Beams { get; } = new("--beams") { Description = "Beams, for --generation beam", DefaultValueFactory = _ => 3 };

    public Option<int> TopK { get; } = new("--top-k") { Description = "Ids to sample among, for --generation top-k", DefaultValueFactory = _ => 50 };

    public Option<double> TopP { get; } = new("--top-p") { Description = "Probability mass to sample within, in (0, 1], for --generation top-p", DefaultValueFactory = _ => 0.9 };

    public Option<double> Temperature { get; } = new("--temperature") { Description = "Divides the logits before sampling", DefaultValueFactory = _ => Defaults.Temperature };

    public Option<int> MaxLength { get; } = new("--max-length") { Description = "Most ids per caption, start token included", DefaultValueFactory = _ => Defaults.MaxLength };

    public Option<int> MinLength { get; } = new("--min-length") { Description = "No end token before this many ids, start token included", DefaultValueFactory = _ => Defaults.MinLength };

    public Option<ulong> Seed { get; } = new("--seed") { Description = "Seed for sampling", DefaultValueFactory = _ => Defaults.Seed };

    public Option<string> Device { get; } = new("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Config, Decoding, Beams, TopK, TopP, Temperature, MaxLength, MinLength, Seed, Device })
            command.Options.Add(option);
    }

    /// <summary>The generation settings; <see cref="CaptionGeneration"/> checks their values.</summary>
    public CaptionOptions Options(ParseResult parse) => Defaults with
    {
        Decoding = Decodings[parse.GetValue(Decoding)!],
        Beams = parse.GetValue(Beams),
        TopK = parse.GetValue(TopK),
        TopP = parse.GetValue(TopP),
        Temperature = parse.GetValue(Temperature),
        MaxLength = parse.GetValue(MaxLength),
        MinLength = parse.GetValue(MinLength),
        Seed = parse.GetValue(Seed),
    };

    public ComputeDevice ParseDevice(ParseResult parse) => ComputeDevice.Parse(parse.GetValue(Device)!);

    /// <summary>The CoCa model, on the chosen device.</summary>
    public CocaModel Load(ParseResult parse)
    {
        var weights = parse.GetValue(Model)!;
        // A folder `pretrain --objective coca` or `learn` wrote carries its config beside the weights.
        var configPath = CocaCheckpoint.ConfigOf(weights, parse.GetValue(Config))
                         ?? throw new OptionException("--config: give the open_clip model config of the weights (e.g. coca_ViT-B-32.json)");
        // The shipped presets are CLIP shapes; a CoCa also needs its decoder's, which only its own config has.
        if (!File.Exists(configPath) && ClipConfig.PresetName(configPath) is { } preset)
            throw new OptionException($"--config: {preset} is a CLIP preset, not a CoCa's; give the CoCa's open_clip model config file (e.g. coca_ViT-B-32.json)");
        var model = CocaCheckpoint.Load(weights, configPath);
        model.to(ParseDevice(parse).Device);
        return model;
    }

    private static Option<string> DecodingOption()
    {
        var decoding = new Option<string>("--generation") { Description = "greedy, beam, top-k or top-p", DefaultValueFactory = _ => "greedy" };
        decoding.AcceptOnlyFromAmong([.. Decodings.Keys]);
        return decoding;
    }
}
