using System.CommandLine;
using System.Text.Json;
using Molyneux.Asif;
using Molyneux.Captioning;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux embed</c>: the unnormalized CLIP embeddings of images, preprocessed pixels or texts (a CoCa's
/// contrastive features when <c>--config</c> is an open_clip CoCa config); or, with a built-in encoder's name as the
/// model, its pooled features (<c>resnet18-imagenet</c>: images, 512 values;
/// <c>minilm</c>: texts, 384 values, mean-pooled and not normalised). A preset name as --config (<c>ViT-B-32</c>) is
/// a CLIP config, never a CoCa's.</summary>
public static class EmbedCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var images = new Option<string[]>("--image") { Description = "Image files or folders of images (repeatable, several per --image)", AllowMultipleArgumentsPerToken = true };
        var pixels = new Option<string?>("--pixels") { Description = "A .safetensors file holding pixel_values [N,3,H,W], already preprocessed" };
        var texts = new Option<string[]>("--text") { Description = "Texts (repeatable, several per --text)", AllowMultipleArgumentsPerToken = true };
        var json = new JsonOutputOption("JSON: {\"texts\":[{text,embedding}],\"images\":[{source,embedding}]}");
        var command = new Command("embed", "Print the CLIP embeddings (unnormalized) of images and texts, or a built-in encoder's " +
                                           $"pooled features (--model {UnimodalEncoders.ResNet18ImageNetName} or {UnimodalEncoders.MiniLmName})");
        model.AddTo(command);
        foreach (var option in new Option[] { images, pixels, texts, json.Option }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            string[] imageFiles = [.. ImageFiles.Expand(parse.GetValue(images) ?? [])];
            var textInputs = parse.GetValue(texts) ?? [];
            var pixelFile = parse.GetValue(pixels);
            if (imageFiles.Length == 0 && textInputs.Length == 0 && pixelFile is null)
                throw new OptionException("nothing to embed: give --image, --pixels or --text");
            var results = new List<(string Kind, string Source, float[] Embedding)>();
            if (parse.GetValue(model.Model) is { } name && UnimodalEncoders.IsBuiltIn(name))
                EmbedWithBuiltInEncoder(name, ComputeDevice.Parse(parse.GetValue(model.Device)!, parse.GetValue(model.DType)!), imageFiles, textInputs, pixelFile, results);
            else
                EmbedWithModel(model.Load(parse, context), imageFiles, textInputs, pixelFile, results);
            if (json.Write(parse, context, () => JsonSerializer.Serialize(new
                {
                    texts = results.Where(r => r.Kind == "text").Select(r => new { text = r.Source, embedding = r.Embedding }),
                    images = results.Where(r => r.Kind == "image").Select(r => new { source = r.Source, embedding = r.Embedding }),
                })))
                return 0;
            var table = new Table().AddColumns("input", "norm", "first values");
            foreach (var (kind, source, embedding) in results)
                table.AddRow(Markup.Escape($"{kind}: {source}"), $"{Math.Sqrt(embedding.Sum(v => (double)v * v)):F4}",
                    string.Join(" ", embedding.Take(6).Select(v => v.ToString("F4"))) + (embedding.Length > 6 ? " …" : ""));
            context.Console.Write(table);
            return 0;
        });
        return command;
    }

    private static void EmbedWithModel(IVisionLanguageModel model, string[] imageFiles, string[] textInputs, string? pixelFile,
        List<(string Kind, string Source, float[] Embedding)> results)
    {
        using (model)
            EmbedEach(texts => model.EncodeTexts(texts), files => model.EncodeImages(files), values => model.EncodePixels(values, pixelFile), imageFiles, textInputs, pixelFile, results);
    }

    /// <summary>The texts, then the image files, then the rows of the pixel file, each through its encoder.</summary>
    private static void EmbedEach(Func<string[], Tensor> encodeTexts, Func<string[], Tensor> encodeImages, Func<Tensor, Tensor> encodePixels,
        string[] imageFiles, string[] textInputs, string? pixelFile, List<(string Kind, string Source, float[] Embedding)> results)
    {
        foreach (var (text, row) in textInputs.Zip(Rows(encodeTexts(textInputs))))
            results.Add(("text", text, row));
        foreach (var (file, row) in imageFiles.Zip(Rows(encodeImages(imageFiles))))
            results.Add(("image", file, row));
        if (pixelFile is not null)
        {
            using var values = PixelValuesFile.Read(pixelFile);
            var index = 0;
            foreach (var row in Rows(encodePixels(values)))
                results.Add(("image", $"{pixelFile}#{index++}", row));
        }
    }

    /// <summary>A built-in encoder reads one modality only; it takes files, not preprocessed pixels.</summary>
    private static void EmbedWithBuiltInEncoder(string name, ComputeDevice device, string[] imageFiles, string[] textInputs, string? pixelFile,
        List<(string Kind, string Source, float[] Embedding)> results)
    {
        if (pixelFile is not null)
            throw new OptionException($"--pixels: {name} preprocesses its own images; give --image files");
        if (name == UnimodalEncoders.MiniLmName)
        {
            if (imageFiles.Length > 0) throw new OptionException($"--image: {name} is a text encoder; give --text");
            var textEncoder = UnimodalEncoders.LoadTextEncoder(name, device);
            using (textEncoder as IDisposable)
                foreach (var (text, row) in textInputs.Zip(Rows(textEncoder.EncodeTexts(textInputs))))
                    results.Add(("text", text, row));
            return;
        }
        if (textInputs.Length > 0) throw new OptionException($"--text: {name} is an image encoder; give --image");
        var imageEncoder = UnimodalEncoders.LoadImageEncoder(name, device);
        using (imageEncoder as IDisposable)
            foreach (var (file, row) in imageFiles.Zip(Rows(imageEncoder.EncodeImages(imageFiles))))
                results.Add(("image", file, row));
    }

    private static IEnumerable<float[]> Rows(Tensor features)
    {
        using (features)
            for (var i = 0; i < features.shape[0]; i++)
                yield return features[i].data<float>().ToArray();
    }
}
