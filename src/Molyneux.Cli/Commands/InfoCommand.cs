using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux info MODEL</c>: the architecture, parameter counts and provenance of a checkpoint.</summary>
public static class InfoCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table" };
        var command = new Command("info", "Show a model's architecture, parameter counts and where it came from");
        model.AddTo(command);
        command.Options.Add(json);
        context.SetAction(command, parse =>
        {
            using var clip = model.Load(parse, context);
            var config = clip.Model.Config;
            var facts = new (string Name, object Value)[]
            {
                ("path", clip.Source?.Path ?? ""),
                ("layout", clip.Source?.Layout ?? ""),
                ("naming", clip.Source?.Naming ?? ""),
                ("identity (sha256 of weights)", clip.Identity),
                ("device / dtype", clip.Device.ToString()),
                ("parameters, total", clip.Model.CountParameters()),
                ("parameters, image tower", clip.Model.CountParameters("vision_model.")),
                ("parameters, text tower", clip.Model.CountParameters("text_model.")),
                ("projection size", config.ProjectionDim),
                ("image size / patch", $"{config.Vision.ImageSize} / {config.Vision.PatchSize}"),
                ("vision width / layers / heads", $"{config.Vision.HiddenSize} / {config.Vision.NumHiddenLayers} / {config.Vision.NumAttentionHeads}"),
                ("text width / layers / heads", $"{config.Text.HiddenSize} / {config.Text.NumHiddenLayers} / {config.Text.NumAttentionHeads}"),
                ("context length / vocabulary", $"{config.Text.MaxPositionEmbeddings} / {config.Text.VocabSize}"),
                ("activation", config.Vision.HiddenAct),
                ("logit scale", Math.Exp(clip.Model.logit_scale.cpu().to(TorchSharp.torch.ScalarType.Float32).item<float>())),
            };
            var notes = clip.Source?.Notes ?? [];
            if (parse.GetValue(json))
            {
                var document = facts.ToDictionary(f => f.Name, f => f.Value);
                document["notes"] = notes;
                context.Output.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            var table = new Table().AddColumns("", "").HideHeaders();
            foreach (var (name, value) in facts) table.AddRow(Markup.Escape(name), Markup.Escape(value is long count ? count.ToString("N0") : value.ToString()!));
            foreach (var note in notes) table.AddRow("note", Markup.Escape(note));
            context.Console.Write(table);
            return 0;
        });
        return command;
    }
}
