using System.CommandLine;
using System.Text.Json;
using Molyneux.Modeling;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux info MODEL</c>: the architecture, parameter counts and provenance of a checkpoint.</summary>
public static class InfoCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var json = new JsonOutputOption("JSON: the table's facts by name, and \"notes\"");
        var command = new Command("info", "Show a model's architecture, parameter counts and where it came from");
        model.AddTo(command);
        command.Options.Add(json.Option);
        context.SetAction(command, parse =>
        {
            using var clip = model.Load(parse, context);
            long Count(params ModelPart[] parts) => parts.SelectMany(clip.Parameters).Sum(parameter => parameter.numel());
            var facts = new (string Name, object Value)[]
            {
                ("path", clip.Source?.Path ?? ""),
                ("layout", clip.Source?.Layout ?? ""),
                ("naming", clip.Source?.Naming ?? ""),
                ("identity (sha256 of weights)", clip.Identity),
                ("device / dtype", clip.Device.ToString()),
                ("parameters, total", clip.Module.parameters().Sum(parameter => parameter.numel())),
                ("parameters, image tower", Count(ModelPart.ImageTower)),
                ("parameters, text tower", Count(ModelPart.TextTower)),
            }.Concat(Count(ModelPart.TextDecoder) is > 0 and var decoder ? [("parameters, text decoder", (object)decoder)] : [])
            .Append(("projection size", clip.EmbeddingSize)).Concat(clip.Architecture).Append(
                ("logit scale", Math.Exp(clip.LogitScale.detach().cpu().to(TorchSharp.torch.ScalarType.Float32).item<float>()))).ToArray();
            var notes = clip.Source?.Notes ?? [];
            var document = new Dictionary<string, object>();
            foreach (var (name, value) in facts) document[name] = value;
            document["notes"] = notes;
            if (json.Write(parse, context, () => JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true })))
                return 0;
            var table = new Table().AddColumns("", "").HideHeaders();
            foreach (var (name, value) in facts) table.AddRow(Markup.Escape(name), Markup.Escape(value is long count ? count.ToString("N0") : value.ToString()!));
            foreach (var note in notes) table.AddRow("note", Markup.Escape(note));
            context.Console.Write(table);
            return 0;
        });
        return command;
    }
}
