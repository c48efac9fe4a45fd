using System.CommandLine;
using Molyneux.Checkpoints;
using Molyneux.Evaluation;
using Molyneux.KnowledgeTransfer;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Worlds.Emoji;
using Molyneux.Worlds;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux learn</c> (invert, fine-tune, measure before and after, report) and <c>molyneux demo</c>
/// (the same on the default world: the default model learns the default held-out emoji concepts).</summary>
public static class LearnCommands
{
    private sealed class LearnArguments
    {
        private static readonly FineTuneOptions FineTuneDefaults = new();

        public Option<string> Train { get; } = new("--train") { Description = "image (the paper's), text, both, token, image+decoder (a captioner's image tower and decoder, the paper's †), a comma-separated list of them to choose from, or auto (image,text,token)", DefaultValueFactory = _ => "image" };
        public Option<string> LearningRate { get; } = new("--lr")
        {
            Description = "Fine-tuning learning rate(s), a comma-separated list to choose from (e.g. 1e-5,2e-5,3e-5), or auto " +
                          $"({string.Join(",", LearnOptions.AutoLearningRates.Select(rate => rate.ToString("0e0", System.Globalization.CultureInfo.InvariantCulture)))})",
            DefaultValueFactory = _ => "auto",
        };
        public Option<string> Select { get; } = new("--select")
        {
            Description = "How the grid's configuration is chosen: validation (on a seeded part of the real images, --validation-fraction; the rest reports), " +
                          "inverted (on held-out inverted images: no real image of a concept is read), or none (one configuration)",
            DefaultValueFactory = _ => "validation",
        };
        public Option<double> ValidationFraction { get; } = new("--validation-fraction") { Description = "Share of each concept's real images (and of the reference's) that choose", DefaultValueFactory = _ => RealImageSplit.DefaultValidationFraction };
        public Option<string> Caption { get; } = new("--caption") { Description = "name+description (the paper's \"A {name} is {description}\"), name, or description", DefaultValueFactory = _ => "name+description" };
        public Option<string> Loss { get; } = new("--loss") { Description = "paper (Eq. 2, image→text) or symmetric (CLIP's pretraining loss)", DefaultValueFactory = _ => "paper" };
        public Option<string> Optimizer { get; } = new("--optimizer") { Description = "adam (coupled L2 weight decay, as the authors' code) or adamw (decoupled)", DefaultValueFactory = _ => "adam" };
        public Option<double> WeightDecay { get; } = new("--weight-decay") { Description = "Fine-tuning weight decay (see --optimizer for how it applies)", DefaultValueFactory = _ => FineTuneDefaults.WeightDecay };
        public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Image–caption pairs per fine-tuning step", DefaultValueFactory = _ => FineTuneDefaults.BatchSize };
        public Option<string> Distill { get; } = new("--distill")
        {
            Description = "Hold the trained tower's features to the frozen model's with this weight (the authors' --kd_weight; 0: the paper's recipe), " +
                          "or a comma-separated list to choose from (e.g. 0,1,10)",
            DefaultValueFactory = _ => "0",
        };
        public Option<string> CaptionWeight { get; } = new("--caption-weight")
        {
            Description = "For a captioner (CoCa): λ2 of the loss L_CLIP + λ2·L_cap, the captioning loss of each inverted image's caption (the paper's 0.1), " +
                          "or a comma-separated list to choose from; other models ignore it",
            DefaultValueFactory = _ => "0.1",
        };
        public Option<string?> Replay { get; } = new("--replay")
        {
            Description = "A captioner only: a captions file (JSONL, as eval caption reads) of ordinary images, none showing a concept, whose captions every trial replays with the captioning loss to keep the captioner's captions (not in the paper)",
        };
        public Option<double> CiderBound { get; } = new("--cider-bound")
        {
            Description = "For a captioner with reference captions (shapes:color, shapes:shape): the most CIDEr-D of its reference captions a chosen setting may lose, instead of --forgetting-bound",
            DefaultValueFactory = _ => new LearnOptions().CaptionForgettingBound,
        };
        public Option<int?> Lora { get; } = new("--lora") { Description = "Train LoRA adapters of this rank on the image tower (α = rank) instead of its weights; needs --train image" };
        public InversionArguments Inversion { get; } = new();
        public Option<int> Epochs { get; } = new("--epochs") { Description = "Fine-tuning epochs over the inverted images", DefaultValueFactory = _ => FineTuneDefaults.Epochs };
        public Option<int> Distractors { get; } = new("--distractors") { Description = "Reference classes beside the concepts in the small candidate set", DefaultValueFactory = _ => 50 };
        public Option<double> ForgettingBound { get; } = new("--forgetting-bound") { Description = "Most reference top-1 points a chosen setting may lose (on the reference's validation images)", DefaultValueFactory = _ => 1.0 };
        public Option<bool> NoiseControl { get; } = new("--noise-control") { Description = "Also run the grid on pure-noise images, chosen the same way, to show what the inverted images add" };
        public Option<string?> ReferenceTemplates { get; } = new("--reference-templates")
        {
            Description = "Measure forgetting with these prompt templates' mean (a built-in set: openai_imagenet, simple, a_photo, name; or a file), " +
                          "as eval classify --templates does; default: each reference class's own prompt",
        };
        public Option<bool> PerConcept { get; } = new("--per-concept")
        {
            Description = "Teach each concept alone from the base model, as the paper's Table 1: --out and --report get one folder per concept",
        };
        public Option<string?> Inverted { get; } = new("--inverted") { Description = "A folder molyneux invert wrote for these concepts and this model: fine-tune on its images instead of inverting again" };
        public Option<string?> Report { get; } = new("--report") { Description = "Write report.json and report.html (with the images) to this folder" };
        public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Replace existing outputs" };
        public TensorBoardArguments TensorBoard { get; } = new();

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Train, LearningRate, Select, ValidationFraction, Caption, Loss, Optimizer, WeightDecay, BatchSize, Epochs, Distill, CaptionWeight, Lora,
                         Distractors, ForgettingBound, CiderBound, Replay, NoiseControl, ReferenceTemplates, PerConcept, Inverted, Report, Overwrite })
                command.Options.Add(option);
            Inversion.AddTo(command);
            TensorBoard.AddTo(command);
        }

        /// <summary>Every option parsed and checked, so that a bad value stops the run before anything loads.</summary>
        public LearnOptions Options(ParseResult parse)
        {
            var inversion = Inversion.Options(parse);
            var train = parse.GetValue(Train)!;
            var rate = parse.GetValue(LearningRate)!;
            var options = new LearnOptions
            {
                Inversion = inversion,
                FineTune = new FineTuneOptions
                {
                    Epochs = parse.GetValue(Epochs),
                    BatchSize = parse.GetValue(BatchSize),
                    WeightDecay = parse.GetValue(WeightDecay),
                    Loss = FineTuneOptions.ParseLoss(parse.GetValue(Loss)!),
                    Optimizer = FineTuneOptions.ParseOptimizer(parse.GetValue(Optimizer)!),
                    Lora = parse.GetValue(Lora) is { } rank ? new LoraOptions(rank, rank) : null,
                },
                Caption = ConceptCaptions.ParseMode(parse.GetValue(Caption)!),
                TrainModes = train == "auto" ? LearnOptions.AutoTrainModes
                    : train.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(FineTuneOptions.ParseTrainMode).Distinct().ToList(),
                LearningRates = rate == "auto" ? LearnOptions.AutoLearningRates : NumberList.Parse(LearningRate.Name, rate),
                DistillWeights = NumberList.Parse(Distill.Name, parse.GetValue(Distill)!),
                CaptionWeights = NumberList.Parse(CaptionWeight.Name, parse.GetValue(CaptionWeight)!),
                CaptionForgettingBound = parse.GetValue(CiderBound),
                ReplayCaptions = parse.GetValue(Replay),
                Selection = LearnOptions.ParseSelection(parse.GetValue(Select)!),
                ValidationFraction = parse.GetValue(ValidationFraction),
                Distractors = parse.GetValue(Distractors),
                ForgettingBound = parse.GetValue(ForgettingBound) / 100,
                NoiseControl = parse.GetValue(NoiseControl),
                PerConcept = parse.GetValue(PerConcept),
                Seed = (int)inversion.Seed,
            };
            options.Validate();
            // The fine-tuning settings every trial shares; a stand-in word lets token mode's be checked too.
            (options.FineTune with { Train = options.TrainModes[0], TokenWord = options.TrainModes[0] == TrainMode.Token ? "concept" : null }).Validate();
            return options;
        }
    }

    public static Command Learn(CliContext context)
    {
        var model = new ModelOptions();
        var concepts = ConceptsOption();
        var output = new Option<string>("--out", "-o") { Description = "Folder for the taught model (the base model's layout: a HF folder, or an open_clip folder for a CoCa)", Required = true };
        var reference = new Option<string>("--eval") { Description = "Reference set for forgetting: an image folder, emoji, shapes:color or shapes:shape", DefaultValueFactory = _ => "emoji" };
        var arguments = new LearnArguments();
        var command = new Command("learn", "Teach a model new concepts from their descriptions: invert, fine-tune, measure before and after");
        model.AddTo(command);
        foreach (var option in new Option[] { concepts, output, reference }) command.Options.Add(option);
        arguments.AddTo(command);
        context.SetAction(command, parse =>
        {
            var options = arguments.Options(parse);
            var conceptsFile = parse.GetValue(concepts)!;
            Run(context, parse, arguments, options, () => model.Load(parse, context), ConceptsFile.Read(conceptsFile),
                Path.GetDirectoryName(Path.GetFullPath(conceptsFile))!, parse.GetValue(reference)!, parse.GetValue(output)!);
            return 0;
        });
        return command;
    }

    public static Command Demo(CliContext context)
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder for the taught model", DefaultValueFactory = _ => "molyneux-demo/model" };
        var arguments = new LearnArguments();
        // A few minutes on 2 cores: 20 concepts × 5 images through the ResNet per step (one copy, as the authors), 200 steps.
        arguments.Inversion.Steps.DefaultValueFactory = _ => 200;
        arguments.Inversion.ImagesPerConcept.DefaultValueFactory = _ => 5;
        arguments.Report.DefaultValueFactory = _ => "molyneux-demo/report";
        var home = DataCommands.Home();
        var model = new ModelOptions();
        var concepts = new Option<string?>("--concepts") { Description = "Concepts file (docs/concepts-file.md); default: the 20 emoji concepts the default model never saw" };
        var command = new Command("demo", "Knowledge Transfer on the default world: the default model learns the held-out emoji concepts from their descriptions") { output, home, concepts };
        model.AddTo(command);
        arguments.AddTo(command);
        context.SetAction(command, parse =>
        {
            var options = arguments.Options(parse);
            var messages = new Progress<string>(message => context.Info.WriteLine(message));
            var molyneuxHome = parse.GetValue(home) ?? MolyneuxHome.Default;
            var conceptsFile = parse.GetValue(concepts);
            var (conceptList, conceptsFolder) = conceptsFile is null
                ? (EmojiSplits.DefaultHeldOutConcepts, Environment.CurrentDirectory)
                : (ConceptsFile.Read(conceptsFile), Path.GetDirectoryName(Path.GetFullPath(conceptsFile))!);
            EmojiInstaller.Install(molyneuxHome, messages);
            Run(context, parse, arguments, options, () => model.Load(parse, context, molyneuxHome), conceptList, conceptsFolder, "emoji", parse.GetValue(output)!, molyneuxHome);
            return 0;
        });
        return command;
    }

    private static void Run(CliContext context, ParseResult parse, LearnArguments arguments, LearnOptions options, Func<IVisionLanguageModel> load,
        IReadOnlyList<DescribedConcept> conceptList, string conceptsFolder, string referenceSpec, string output, string? home = null)
    {
        var outputs = new LearnOutputs(output, parse.GetValue(arguments.Report), parse.GetValue(arguments.Overwrite), parse.GetValue(arguments.Inverted));
        var referenceTemplates = parse.GetValue(arguments.ReferenceTemplates) is { } templates ? PromptTemplates.Load(templates, arguments.ReferenceTemplates.Name) : null;
        // Read from disk once: the learner teaches in-memory copies and leaves this one as it is.
        using var baseModel = load();
        EmojiManifest? manifest = null;
        var sources = new ConceptSources(baseModel.ImageSize, () => manifest ??= EmojiInstaller.Install(home ?? MolyneuxHome.Default), options.Seed);
        var concepts = sources.Teachable(ConceptsFile.FitDescriptions(conceptList, baseModel, Warnings(context)), conceptsFolder);
        var reference = sources.Reference(referenceSpec, conceptList.Select(c => c.Name).ToHashSet());
        if (referenceTemplates is not null) reference = reference.WithForgettingTemplates(referenceTemplates);
        var (saved, inversionImages) = parse.GetValue(arguments.Inverted) is { } invertedFolder
            ? InvertedConcepts.ForLearning(invertedFolder, options, baseModel.Identity, concepts, Warnings(context))
            : (null, options.Inversion.ImagesPerConcept);
        options = options with { Inversion = options.Inversion with { ImagesPerConcept = inversionImages } };
        var log = arguments.TensorBoard.Open(parse);
        ConceptLearner Learner(CliProgress.IStageReport stages) => new(options)
        {
            Progress = new CliProgress.SynchronousProgress<string>(stages.Begin),
            InversionProgress = TensorBoardArguments.Recording(log, "inversion", CliProgress.Inversion(stages.Step)),
            FineTuneProgress = CliProgress.FineTuning(stages.Step),
            Log = log,
        };
        if (options.PerConcept)
        {
            PerConceptSummary? summary = null;
            CliProgress.Stages(context, stages => summary = outputs.WriteEach(() => Learner(stages).LearnEach(baseModel, concepts, reference, saved), [.. concepts.Select(c => c.Name)]));
            PrintEach(context, summary!, outputs);
            return;
        }
        LearnResult? learnt = null;
        CliProgress.Stages(context, stages => learnt = Learner(stages).Learn(baseModel, concepts, reference, saved));
        using var result = learnt!;
        outputs.Write(result);
        Print(context, result, concepts, outputs);
    }

    /// <summary>Warnings about the user's input, on standard error.</summary>
    internal static IProgress<string> Warnings(CliContext context) => new CliProgress.SynchronousProgress<string>(warning => context.Error.WriteLine($"warning: {warning}"));

    /// <summary>The result on the test images: per concept and mean, the gain with its interval, forgetting, the
    /// noise control, a captioner's captions, and the configurations that failed.</summary>
    private static void Print(CliContext context, LearnResult result, IReadOnlyList<TeachableConcept> concepts, LearnOutputs outputs)
    {
        var table = new Table().AddColumns("concept (test images)", "name top-1 before", "after", "description top-1 before", "after", "all classes, after");
        for (var c = 0; c < concepts.Count; c++)
        {
            var (before, after) = (result.Before.Concepts[c], result.Chosen.After.Concepts[c]);
            table.AddRow($"{Markup.Escape(concepts[c].Name)} ({result.Split.ConceptTest[c].Length})", $"{100 * before.NameTop1:F0}%", $"{100 * after.NameTop1:F0}%",
                $"{100 * before.DescriptionTop1:F0}%", $"{100 * after.DescriptionTop1:F0}%", $"{100 * after.NameTop1AllClasses:F0}%");
        }
        table.AddRow("[bold]mean[/]", $"{100 * result.Before.MeanNameTop1:F1}%", $"{100 * result.Chosen.After.MeanNameTop1:F1}%",
            $"{100 * result.Before.Concepts.Average(c => c.DescriptionTop1):F1}%", $"{100 * result.Chosen.After.Concepts.Average(c => c.DescriptionTop1):F1}%",
            $"{100 * result.Chosen.After.Concepts.Average(c => c.NameTop1AllClasses):F1}%");
        context.Console.Write(table);
        var test = result.Split.ConceptTest;
        context.Console.WriteLine($"name top-1 gain: {Estimate.Of(result.Chosen.After.MeanNameTop1 - result.Before.MeanNameTop1, KnowledgeHits.GainInterval(result.BeforeHits, result.Chosen.Hits, test)).Points(signed: true)} " +
                                  $"(95 % bootstrap interval over the {test.Sum(images => images.Length)} test images)");
        context.Console.WriteLine($"reference top-1: {100 * result.Before.ReferenceTop1:F1}% → {100 * result.Chosen.After.ReferenceTop1:F1}% " +
                                  $"(chosen by --select {result.Selection.ToString().ToLowerInvariant()}: {result.Chosen.Configuration}" +
                                  (result.Chosen.WithinBound ? ")" : "; no configuration stayed within the forgetting bound, so the one that forgot least was kept)"));
        if (result.NoiseGrid is { Chosen: var noise })
            context.Console.WriteLine($"noise control (the same grid and choice on noise images): name top-1 {100 * noise.After.MeanNameTop1:F1}%, " +
                                      $"gain {Estimate.Of(noise.After.MeanNameTop1 - result.Before.MeanNameTop1, KnowledgeHits.GainInterval(result.BeforeHits, noise.Hits, test)).Points(signed: true)}, " +
                                      $"reference {100 * noise.After.ReferenceTop1:F1}%");
        if (CaptioningSummary.Of(result) is { } captioning)
            context.Console.WriteLine(captioning.Sentence());
        foreach (var failed in result.Grid.Failed)
            context.Console.WriteLine($"failed: {failed.Configuration}: {failed.Reason}");
        context.Console.WriteLine($"saved the taught model to {outputs.ModelFolder}");
        if (outputs.ReportPage is { } page)
            context.Console.WriteLine($"open {page} in a browser for the report (inverted images beside real ones, every number); report.json holds the same numbers for scripts");
    }

    /// <summary><c>--per-concept</c>: the table of the concepts each taught alone (<see cref="LearnOutputs.WriteEach"/>
    /// saved them), the mean gain and what the runs cost the reference.</summary>
    private static void PrintEach(CliContext context, PerConceptSummary summary, LearnOutputs outputs)
    {
        var table = new Table().AddColumns("concept (taught alone)", "name top-1 before", "after", "chosen", "reference top-1 before", "after");
        foreach (var concept in summary.Concepts)
            table.AddRow(Markup.Escape(concept.Name), $"{100 * concept.Before.NameTop1:F0}%", $"{100 * concept.After.NameTop1:F0}%", Markup.Escape(concept.Chosen.ToString()),
                $"{100 * concept.ReferenceBefore:F1}%", $"{100 * concept.ReferenceAfter:F1}%");
        context.Console.Write(table);
        context.Console.WriteLine($"name top-1 gain: {summary.Gain.Points(signed: true)}" +
                                  (summary.NoiseControlGain is { } noise ? $"; noise control {noise.Points(signed: true)}" : "") +
                                  $"; reference top-1 lost {100 * summary.MeanForgetting:F1} points on average over the runs (at most {100 * summary.MostForgetting:F1})");
        context.Console.WriteLine($"saved the {summary.Concepts.Count} taught models to {outputs.ModelFolder}, one folder per concept");
        if (outputs.ReportFolder is not null)
            context.Console.WriteLine($"the reports are in {outputs.ReportFolder}, one folder per concept, and {LearnOutputs.PerConceptSummaryFileName} holds the table");
    }

    /// <summary>The concepts-file option of <c>learn</c> and <c>invert</c>.</summary>
    internal static Option<string> ConceptsOption() => new("--concepts")
    {
        Description = "Concepts file: [{\"name\", \"description\" or \"descriptions\": [...], \"images\": folder | emoji:<name> | shapes:<concept>}] (docs/concepts-file.md)",
        Required = true,
    };
}
