using System.CommandLine;
using System.Text.Json;
using Molyneux.Captioning;
using Molyneux.Imaging;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux caption</c>: captions for images from a CoCa model in open_clip's layout, decoded greedily,
/// by beam search or by top-k or top-p sampling (<see cref="CaptionGeneration"/>).</summary>
public static class CaptionCommand
{
    public static Command Create(CliContext context)
    {
        var arguments = new CaptionArguments();
        var images = DeprecatedSpellings.Alias(new Option<string[]>("--image") { Description = "Image files or folders of images (repeatable, several per --image)", AllowMultipleArgumentsPerToken = true }, "--images");
        var pixels = new Option<string?>("--pixels") { Description = "A .safetensors file holding pixel_values [N,3,H,W], already preprocessed" };
        var json = new JsonOutputOption("JSON: {\"captions\":[{source,ids,text}]}, the ids as generated (start token first)");
        var html = new CaptionPageOption();
        var command = new Command("caption", "Caption images with a CoCa model (open_clip's generate: greedy, beam search, top-k or top-p sampling)");
        arguments.AddTo(command);
        foreach (var option in new Option[] { images, pixels, json.Option, html.Option })
            command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var imageFiles = ImageFiles.Expand(parse.GetValue(images) ?? []);
            var pixelFile = parse.GetValue(pixels);
            if (imageFiles.Count == 0 && pixelFile is null)
                throw new OptionException("nothing to caption: give --image (files or folders) or --pixels");
            var pagePath = html.File(parse);
            var options = arguments.Options(parse);
            using var coca = arguments.Load(parse);
            var captioner = new Captioner(coca);
            var captions = new List<Caption>();
            var pngs = new List<byte[]>();
            if (imageFiles.Count > 0)
                CliProgress.Steps(context, "captioning", report => captions.AddRange(captioner.CaptionFiles(imageFiles, options,
                    new CliProgress.SynchronousProgress<int>(done => report(done, imageFiles.Count, "images")))));
            if (imageFiles.Count > 0 && pagePath is not null)
                pngs.AddRange(CaptionPage.ModelInputPngs(captioner.ImageProcessor, imageFiles));
            if (pixelFile is not null)
            {
                using var values = PixelValuesFile.Read(pixelFile);
                captions.AddRange(captioner.CaptionPixels(values, [.. Enumerable.Range(0, (int)values.shape[0]).Select(i => $"{pixelFile}#{i}")], options));
                if (pagePath is not null)
                    pngs.AddRange(CaptionPage.ModelInputPngs(captioner.ImageProcessor, values));
            }
            if (pagePath is not null)
                CaptionPageOption.Write(pagePath, parse.GetValue(arguments.Model)!, options,
                    [.. captions.Zip(pngs, (caption, png) => new CaptionPageRow(png, caption.Text, Source: caption.Source))]);
            if (json.Write(parse, context, () => JsonSerializer.Serialize(new { captions = captions.Select(c => new { source = c.Source, ids = c.Ids, text = c.Text }) })))
                return 0;
            foreach (var caption in captions)
                context.Output.WriteLine($"{caption.Source}: {caption.Text}");
            return 0;
        });
        return command;
    }
}
