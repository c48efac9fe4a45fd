using System.CommandLine;
using Molyneux.KnowledgeTransfer;
using Molyneux.Runtime;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux invert</c>: Knowledge Transfer's first stage alone, the concepts' descriptions inverted into
/// images that <c>molyneux finetune</c> then trains on.</summary>
public static class InvertCommand
{
    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var concepts = LearnCommands.ConceptsOption();
        var output = new Option<string>("--out", "-o") { Description = "Folder for the images, contact sheet, loss curve and inverted.json", Required = true };
        var inversion = new InversionArguments();
        var saveEvery = new Option<int>("--save-every") { Description = "Save the state every N steps to OUT.resume/ (0: never)", DefaultValueFactory = _ => 100 };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted run from its saved state" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder" };
        var command = new Command("invert", "Synthesise images of concepts from their descriptions by inverting the image encoder");
        model.AddTo(command);
        foreach (var option in new Option[] { concepts, output, saveEvery, resume, overwrite }) command.Options.Add(option);
        inversion.AddTo(command);
        context.SetAction(command, parse =>
        {
            var options = inversion.Options(parse);
            var every = parse.GetValue(saveEvery);
            if (every < 0) throw new OptionException($"--save-every: must not be negative, got {every}");
            var conceptList = ConceptsFile.Read(parse.GetValue(concepts)!);
            var folder = parse.GetValue(output)!;
            // Checked before the model loads, so a refused run costs nothing.
            var target = new ResumableOutput(folder, ConceptInverter.StateFile, parse.GetValue(resume), parse.GetValue(overwrite));
            using var clip = model.Load(parse, context);
            var fitted = LearnCommands.FitDescriptions(context, conceptList, clip);
            CliProgress.Steps(context, "inverting", report =>
                new ConceptInverter(options)
                {
                    Progress = new CliProgress.SynchronousProgress<InversionProgress>(p =>
                        report(p.Latest.Step, p.Steps, $"cosine {p.Latest.Cosine:F3}, {p.Size} px")),
                }.Run(clip, fitted, target, every));
            context.Console.WriteLine($"saved {fitted.Count} concepts × {options.ImagesPerConcept} images to {folder}");
            return 0;
        });
        return command;
    }
}
