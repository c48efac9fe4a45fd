using System.CommandLine;
using System.Text.Json;
using Molyneux.Captioning;
using Molyneux.Imaging;
using Molyneux.Runtime;
using TorchSharp;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux caption</c>: captions for images from a CoCa model in open_clip's layout, decoded greedily,
/// by beam search or by top-k or top-p sampling (<see cref="CaptionGeneration"/>).</summary>
public static class CaptionCommand
{
    private static readonly Dictionary<string, CaptionDecoding> Decodings = new()
    {
        ["greedy"] = CaptionDecoding.Greedy, ["beam"] = CaptionDecoding.BeamSearch, ["top-k"] = CaptionDecoding.TopK, ["top-p"] = CaptionDecoding.TopP,
    };

    public static Command Create(CliContext context)
    {
        var defaults = new CaptionOptions();
        var model = new Option<string>("--model", "-m") { Description = "CoCa weights in open_clip naming: a .safetensors(.gz) file, or a folder holding model.safetensors", Required = true };
        var config = new Option<string?>("--config") { Description = "The open_clip model config (e.g. coca_ViT-B-32.json)" };
        var images = new Option<string[]>("--image") { Description = "Image files", AllowMultipleArgumentsPerToken = true };
        var folder = new Option<string?>("--images") { Description = "A folder of images" };
        var pixels = new Option<string?>("--pixels") { Description = "A .safetensors file holding pixel_values [N,3,H,W], already preprocessed" };
        var decoding = new Option<string>("--generation") { Description = "greedy, beam, top-k or top-p", DefaultValueFactory = _ => "greedy" };
        decoding.AcceptOnlyFromAmong([.. Decodings.Keys]);
        var beams = new Option<int>("--beams") { Description = "Beams, for --generation beam", DefaultValueFactory = _ => 3 };
        var topK = new Option<int>("--top-k") { Description = "Ids to sample among, for --generation top-k", DefaultValueFactory = _ => 50 };
        var topP = new Option<double>("--top-p") { Description = "Probability mass to sample within, in (0, 1], for --generation top-p", DefaultValueFactory = _ => 0.9 };
        var temperature = new Option<double>("--temperature") { Description = "Divides the logits before sampling", DefaultValueFactory = _ => defaults.Temperature };
        var maxLength = new Option<int>("--max-length") { Description = "Most ids per caption, start token included", DefaultValueFactory = _ => defaults.MaxLength };
        var minLength = new Option<int>("--min-length") { Description = "No end token before this many ids, start token included", DefaultValueFactory = _ => defaults.MinLength };
        var seed = new Option<ulong>("--seed") { Description = "Seed for sampling", DefaultValueFactory = _ => defaults.Seed };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var json = new Option<bool>("--json") { Description = "Print JSON: {\"captions\":[{source,ids,text}]}, the ids as generated (start token first)" };
        var command = new Command("caption", "Caption images with a CoCa model (open_clip's generate: greedy, beam search, top-k or top-p sampling)");
        foreach (var option in new Option[] { model, config, images, folder, pixels, decoding, beams, topK, topP, temperature, maxLength, minLength, seed, device, json })
            command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var imageFiles = ImageFiles.Expand([.. parse.GetValue(images) ?? [], .. parse.GetValue(folder) is { } dir ? new[] { dir } : []]);
            var pixelFile = parse.GetValue(pixels);
            if (imageFiles.Count == 0 && pixelFile is null)
                throw new OptionException("nothing to caption: give --image, --images or --pixels");
            var configPath = parse.GetValue(config)
                             ?? throw new OptionException("--config: give the open_clip model config of the weights (e.g. coca_ViT-B-32.json)");
            var options = defaults with
            {
                Decoding = Decodings[parse.GetValue(decoding)!],
                Beams = parse.GetValue(beams),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                Temperature = parse.GetValue(temperature),
                MaxLength = parse.GetValue(maxLength),
                MinLength = parse.GetValue(minLength),
                Seed = parse.GetValue(seed),
            };
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
            using var coca = CocaCheckpoint.Load(parse.GetValue(model)!, configPath);
            coca.to(computeDevice.Device);
            var captioner = new Captioner(coca);
            var captions = captioner.CaptionFiles(imageFiles, options).ToList();
            if (pixelFile is not null)
            {
                using var values = PixelValuesFile.Read(pixelFile);
                captions.AddRange(captioner.CaptionPixels(values, [.. Enumerable.Range(0, (int)values.shape[0]).Select(i => $"{pixelFile}#{i}")], options));
            }
            if (parse.GetValue(json))
                context.Output.WriteLine(JsonSerializer.Serialize(new { captions = captions.Select(c => new { source = c.Source, ids = c.Ids, text = c.Text }) }));
            else
                foreach (var caption in captions)
                    context.Output.WriteLine($"{caption.Source}: {caption.Text}");
            return 0;
        });
        return command;
    }
}
