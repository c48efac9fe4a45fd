using System.CommandLine;
using System.Text.Json;
using Molyneux.Imaging;
using Molyneux.Runtime;
using Molyneux.Segmentation;
using static TorchSharp.torch;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux saliency</c>: where in an image a text is, by M2IB or Grad-CAM (docs/segmentation.md), as a
/// heat map over the image and optionally the mask MedCLIP-SAMv2's post-processing makes of it.</summary>
public static class SaliencyCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var arguments = new SaliencyArguments();
        var image = new Option<string>("--image") { Description = "The image", Required = true };
        var text = new Option<string>("--text") { Description = "What to look for", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Heat map PNG to write (over the image, at the image's size)", Required = true };
        var mask = new Option<string?>("--mask") { Description = "Also write the mask made from the map (PNG, 0/255)" };
        var json = new JsonOutputOption("JSON: {\"method\", \"mask_pixels\", \"boxes\":[[left, top, right, bottom]…]} (right and bottom exclusive)");
        var command = new Command("saliency", "Heat map of where a text is in an image (M2IB, Grad-CAM), and the mask made from it");
        model.AddTo(command);
        arguments.AddTo(command);
        foreach (var option in new Option[] { image, text, output, mask, json.Option }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var imagePath = parse.GetValue(image)!;
            var prompt = parse.GetValue(text)!;
            using var scope = NewDisposeScope();
            var pixels = ImageDecoder.Load(imagePath);
            using var loaded = model.Load(parse, context);
            if (SaliencyMaps.PromptOverflow(loaded, prompt) is { } overflow) throw new OptionException($"--text: {overflow}");
            var method = arguments.Create(parse, loaded);
            var textFeature = nn.functional.normalize(loaded.EncodeTexts([prompt]), dim: -1)[0];
            var (height, width) = ((int)pixels.shape[1], (int)pixels.shape[2]);
            var map = method.Explain(SaliencyMaps.ModelInput(loaded, pixels), textFeature, height, width);
            var segmentation = SaliencyToMask.Apply(map, arguments.MaskOptions(parse));
            map.WriteHeatMapPng(parse.GetValue(output)!, SegmentationGallery.Rgb(pixels));
            if (parse.GetValue(mask) is { } maskPath) segmentation.Mask.WritePng(maskPath);
            if (json.Write(parse, context, () => JsonSerializer.Serialize(new
                {
                    method = method.Description,
                    mask_pixels = segmentation.Mask.Count,
                    boxes = segmentation.Boxes.Select(box => new[] { box.Left, box.Top, box.Right, box.Bottom }),
                })))
                return 0;
            context.Output.WriteLine($"{method.Description}: wrote {parse.GetValue(output)} ({segmentation.Mask.Count} mask pixels)");
            return 0;
        });
        return command;
    }
}
