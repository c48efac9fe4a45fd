using System.CommandLine;
using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux invert</c>: Knowledge Transfer's first stage alone, the concepts' descriptions inverted into
/// images that <c>molyneux finetune</c> then trains on.</summary>
public static class InvertCommand
{
    /// <summary>How many seeded noise images set partial inversion's target statistics.</summary>
    private const int NoiseImagesForStatistics = 16;

    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var concepts = LearnCommands.ConceptsOption();
        var output = new Option<string>("--out", "-o") { Description = "Folder for the images, contact sheet, loss curve and inverted.json", Required = true };
        var inversion = new InversionArguments();
        var fromLayer = new Option<int?>("--from-layer")
        {
            Description = "Partial inversion (Eq. 4): optimise the token features entering this vision encoder layer of a CLIP ViT instead of pixels; " +
                          "molyneux finetune then trains the layers from it on",
        };
        var style = new Option<string>("--style") { Description = "The prior on those features: moments (per-channel mean and std) or gram (their Gram matrix, as the authors)", DefaultValueFactory = _ => "moments" };
        var statisticsWeight = new Option<double>("--statistics-weight") { Description = "β of Eq. 4, the prior's weight", DefaultValueFactory = _ => 1.0 };
        var resumable = new ResumeArguments(saveEveryDefault: 100);
        var tensorBoard = new TensorBoardArguments();
        var command = new Command("invert", "Synthesise images of concepts from their descriptions by inverting the image encoder");
        model.AddTo(command);
        foreach (var option in new Option[] { concepts, output, fromLayer, style, statisticsWeight }) command.Options.Add(option);
        resumable.AddTo(command);
        inversion.AddTo(command);
        tensorBoard.AddTo(command);
        context.SetAction(command, parse =>
        {
            var options = inversion.Options(parse);
            var featureStyle = parse.GetValue(style) switch
            {
                "moments" => FeatureStyle.Moments,
                "gram" => FeatureStyle.Gram,
                var other => throw new OptionException($"--style: '{other}' is not a feature prior (expected moments or gram)"),
            };
            if (parse.GetValue(fromLayer) is null && featureStyle == FeatureStyle.Gram)
                throw new OptionException("--style: sets partial inversion's prior, so it needs --from-layer");
            var every = resumable.SaveEveryValue(parse);
            var conceptList = ConceptsFile.Read(parse.GetValue(concepts)!);
            var folder = parse.GetValue(output)!;
            // Checked before the model loads, so a refused run costs nothing.
            var target = resumable.Output(parse, folder, ConceptInverter.StateFile);
            using var clip = model.Load(parse, context);
            using var statistics = parse.GetValue(fromLayer) is { } layer
                ? FeatureStatistics.OfNoise(clip as ClipPipeline ?? throw new OptionException($"--from-layer: partial inversion enters a CLIP ViT's encoder layers; this model is a {clip.Architecture[0].Value}"),
                    layer, NoiseImagesForStatistics, options.Seed)
                : null;
            if (statistics is not null)
                options = options with
                {
                    Partial = new PartialInversionOptions { Layer = parse.GetValue(fromLayer)!.Value, Statistics = statistics, Style = featureStyle, StatisticsWeight = parse.GetValue(statisticsWeight) },
                };
            var fitted = ConceptsFile.FitDescriptions(conceptList, clip, LearnCommands.Warnings(context));
            var log = tensorBoard.Open(parse);
            CliProgress.Steps(context, "inverting", report =>
                new ConceptInverter(options)
                {
                    Progress = TensorBoardArguments.Recording(log, "inversion", CliProgress.Inversion(report)),
                    Log = log,
                }.Run(clip, fitted, target, every));
            context.Console.WriteLine($"saved {fitted.Count} concepts × {options.ImagesPerConcept} {(statistics is null ? "images" : $"feature maps entering layer {options.Partial!.Layer}")} to {folder}");
            return 0;
        });
        return command;
    }
}
