using System.CommandLine;
using Molyneux.KnowledgeTransfer;
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
        var resumable = new ResumeArguments(saveEveryDefault: 100);
        var command = new Command("invert", "Synthesise images of concepts from their descriptions by inverting the image encoder");
        model.AddTo(command);
        foreach (var option in new Option[] { concepts, output }) command.Options.Add(option);
        resumable.AddTo(command);
        inversion.AddTo(command);
        context.SetAction(command, parse =>
        {
            var options = inversion.Options(parse);
            var every = resumable.SaveEveryValue(parse);
            var conceptList = ConceptsFile.Read(parse.GetValue(concepts)!);
            var folder = parse.GetValue(output)!;
            // Checked before the model loads, so a refused run costs nothing.
            var target = resumable.Output(parse, folder, ConceptInverter.StateFile);
            using var clip = model.Load(parse, context);
            var fitted = LearnCommands.FitDescriptions(context, conceptList, clip);
            CliProgress.Steps(context, "inverting", report =>
                new ConceptInverter(options)
                {
                    Progress = CliProgress.Inversion(report),
                }.Run(clip, fitted, target, every));
            context.Console.WriteLine($"saved {fitted.Count} concepts × {options.ImagesPerConcept} images to {folder}");
            return 0;
        });
        return command;
    }
}
