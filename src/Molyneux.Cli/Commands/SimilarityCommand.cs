using System.CommandLine;
using System.Text.Json;
using Molyneux.Imaging;
using Spectre.Console;
using static TorchSharp.torch;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux similarity</c>: how well each image matches each text — the cosine similarities and
/// CLIP's softmax over the texts.</summary>
public static class SimilarityCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var images = DeprecatedSpellings.Alias(new Option<string[]>("--image") { Description = "Image files or folders of images (repeatable, several per --image)", Required = true, AllowMultipleArgumentsPerToken = true }, "--images");
        var texts = DeprecatedSpellings.Alias(new Option<string[]>("--text") { Description = "Candidate texts (repeatable, several per --text)", Required = true, AllowMultipleArgumentsPerToken = true }, "--texts");
        var json = new JsonOutputOption("JSON: images, texts, cosine[i][t], probabilities[i][t]");
        var command = new Command("similarity", "Score images against texts: cosine similarity and softmax over the texts");
        model.AddTo(command);
        foreach (var option in new Option[] { images, texts, json.Option }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var imageFiles = ImageFiles.Expand(parse.GetValue(images)!);
            var candidates = parse.GetValue(texts)!;
            using var clip = model.Load(parse, context);
            using var scope = NewDisposeScope();
            var imageFeatures = clip.EncodeImages(imageFiles);
            var textFeatures = clip.EncodeTexts(candidates);
            var cosine = nn.functional.normalize(imageFeatures, dim: -1).matmul(nn.functional.normalize(textFeatures, dim: -1).t());
            var scale = clip.LogitScale.detach().cpu().to(ScalarType.Float32).exp();
            var probabilities = (scale * cosine).softmax(-1);
            var cosineRows = ToRows(cosine);
            var probabilityRows = ToRows(probabilities);
            if (json.Write(parse, context, () => JsonSerializer.Serialize(new { images = imageFiles, texts = candidates, cosine = cosineRows, probabilities = probabilityRows })))
                return 0;
            var table = new Table().AddColumn("image");
            foreach (var text in candidates) table.AddColumn(Markup.Escape(text));
            for (var i = 0; i < imageFiles.Count; i++)
            {
                var best = Array.IndexOf(probabilityRows[i], probabilityRows[i].Max());
                table.AddRow([Markup.Escape(Path.GetFileName(imageFiles[i])), .. candidates.Select((_, t) =>
                {
                    var cell = $"{cosineRows[i][t]:F3} ({100 * probabilityRows[i][t]:F1}%)";
                    return t == best ? $"[bold]{cell}[/]" : cell;
                })]);
            }
            context.Console.Write(table);
            context.Console.WriteLine("cosine similarity (softmax over texts at the model's logit scale)");
            return 0;
        });
        return command;
    }

    private static float[][] ToRows(Tensor matrix) =>
        Enumerable.Range(0, (int)matrix.shape[0]).Select(i => matrix[i].data<float>().ToArray()).ToArray();
}
