using System.CommandLine;
using Molyneux.Checkpoints;
using Molyneux.Runtime;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux convert</c>: rewrite any checkpoint Molyneux reads as a HF directory or an OpenAI-named file.</summary>
public static class ConvertCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var output = new Option<string>("--out", "-o") { Description = "Output: a folder (hf) or a .safetensors file (openai)", Required = true };
        var naming = new Option<string>("--naming") { Description = "hf: a CLIPModel folder; openai: one OpenAI/open_clip-named safetensors file", DefaultValueFactory = _ => "hf" };
        naming.AcceptOnlyFromAmong("hf", "openai");
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output" };
        var command = new Command("convert", "Save a model as a Hugging Face CLIPModel folder or an OpenAI-named safetensors file");
        model.AddTo(command);
        foreach (var option in new Option[] { output, naming, overwrite }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var target = parse.GetValue(output)!;
            if (File.Exists(target) && !parse.GetValue(overwrite))
                throw new OptionException($"{target}: already exists (pass --overwrite to replace it)");
            if (parse.GetValue(naming) == "openai")
            {
                using var clip = model.LoadClip(parse, context, "--naming openai");
                // Refused, with the reason, for a model with a taught token (OpenAI pools at argmax(ids)).
                ClipCheckpoint.SaveOpenAi(clip, target);
            }
            else
            {
                using var loaded = model.Load(parse, context);
                AtomicFile.WriteDirectory(target, parse.GetValue(overwrite), loaded.WriteModelFiles);
            }
            context.Console.WriteLine($"saved {target}");
            return 0;
        });
        return command;
    }
}
