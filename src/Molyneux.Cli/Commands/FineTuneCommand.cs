using System.CommandLine;
using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.KnowledgeTransfer;
using Molyneux.Runtime;
using Molyneux.Worlds.Emoji;
using Molyneux.Worlds;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux finetune</c>: Knowledge Transfer's second stage alone, fine-tuning a model on the images
/// <c>molyneux invert</c> wrote, into a HF checkpoint folder.</summary>
public static class FineTuneCommand
{
    public const string RecordFile = "fine_tune.json", StateFile = "fine_tune_state.safetensors";

    public static Command Create(CliContext context)
    {
        var model = new ModelOptions();
        var images = DeprecatedSpellings.Alias(new Option<string>("--inverted") { Description = "A folder written by molyneux invert", Required = true }, "--images");
        var output = new Option<string>("--out", "-o") { Description = "Folder for the fine-tuned model (the base model's layout: a HF folder, or an open_clip folder for a CoCa)", Required = true };
        var defaults = new FineTuneOptions();
        var train = new Option<string>("--train") { Description = "image (the paper's), text, both, token, or image+decoder (a captioner's image tower and decoder)", DefaultValueFactory = _ => "image" };
        var learningRate = new Option<double>("--lr") { Description = "Learning rate of the trained tower(s)", DefaultValueFactory = _ => defaults.LearningRate };
        var caption = new Option<string>("--caption") { Description = "name+description (the paper's \"A {name} is {description}\"), name, or description", DefaultValueFactory = _ => "name+description" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the inverted images (ignored with --steps)", DefaultValueFactory = _ => defaults.Epochs };
        var steps = new Option<int?>("--steps") { Description = "Exactly this many steps instead of whole epochs" };
        var batchSize = new Option<int>("--batch-size") { Description = "Image–caption pairs per step", DefaultValueFactory = _ => defaults.BatchSize };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Weight decay of the optimizer (see --optimizer for how it applies)", DefaultValueFactory = _ => defaults.WeightDecay };
        var loss = new Option<string>("--loss") { Description = "paper (Eq. 2, image→text) or symmetric (CLIP's pretraining loss)", DefaultValueFactory = _ => "paper" };
        var optimizer = new Option<string>("--optimizer") { Description = "adam (coupled L2 weight decay, as the authors' code) or adamw (decoupled)", DefaultValueFactory = _ => "adam" };
        var distill = new Option<double>("--distill") { Description = "Hold the trained tower's features to the frozen model's with this weight (the authors' --kd_weight)", DefaultValueFactory = _ => defaults.DistillWeight };
        var captionWeight = new Option<double>("--caption-weight")
        {
            Description = "For a captioner (CoCa): λ2 of the loss L_CLIP + λ2·L_cap, the captioning loss of each inverted image's caption (the paper's 0.1); other models ignore it",
            DefaultValueFactory = _ => defaults.CaptionWeight,
        };
        var lora = new Option<int?>("--lora") { Description = "Train LoRA adapters of this rank on the image tower (α = rank), merged at the end" };
        var replayFile = new Option<string?>("--replay")
        {
            Description = "A captioner only: a captions file (JSONL, as eval caption reads) of ordinary images, none showing a concept, whose captions every step replays with the captioning loss (not in the paper)",
        };
        var negatives = new Option<string>("--negatives")
        {
            Description = "A text file of negative captions (one per line), or reference classes whose first prompts are the negatives: an image folder, emoji, shapes:color or shapes:shape",
            DefaultValueFactory = _ => "emoji",
        };
        var seed = new Option<int>("--seed") { Description = "Random seed of the shuffling (and LoRA initialisation); the same seed repeats a run", DefaultValueFactory = _ => 0 };
        var resumable = new ResumeArguments(saveEveryDefault: 50);
        var tensorBoard = new TensorBoardArguments();
        var command = new Command("finetune", "Fine-tune a model on the images molyneux invert synthesised, captioned with their concepts");
        model.AddTo(command);
        foreach (var option in new Option[] { images, output, train, learningRate, caption, epochs, steps, batchSize, weightDecay, loss, optimizer, distill, captionWeight, lora, replayFile, negatives, seed })
            command.Options.Add(option);
        resumable.AddTo(command);
        tensorBoard.AddTo(command);
        context.SetAction(command, parse =>
        {
            var target = resumable.Output(parse, parse.GetValue(output)!, StateFile);
            var options = new FineTuneOptions
            {
                Train = FineTuneOptions.ParseTrainMode(parse.GetValue(train)!),
                LearningRate = parse.GetValue(learningRate),
                Epochs = parse.GetValue(epochs),
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batchSize),
                WeightDecay = parse.GetValue(weightDecay),
                Loss = FineTuneOptions.ParseLoss(parse.GetValue(loss)!),
                Optimizer = FineTuneOptions.ParseOptimizer(parse.GetValue(optimizer)!),
                DistillWeight = parse.GetValue(distill),
                CaptionWeight = parse.GetValue(captionWeight),
                Lora = parse.GetValue(lora) is { } rank ? new LoraOptions(rank, rank) : null,
                Seed = parse.GetValue(seed),
                SaveStateEvery = resumable.SaveEveryValue(parse),
                StatePath = target.StatePath,
            };
            // Token mode takes each concept's name as its word; a stand-in lets every other setting be checked before anything loads.
            (options with { TokenWord = options.Train == TrainMode.Token ? "concept" : null }).Validate();
            var captionMode = ConceptCaptions.ParseMode(parse.GetValue(caption)!);
            using var inverted = InvertedConcepts.Load(parse.GetValue(images)!);

            using var clip = model.Load(parse, context);
            inverted.WarnIfInvertedFromAnother(clip.Identity, LearnCommands.Warnings(context));
            var replayPath = parse.GetValue(replayFile);
            if (replayPath is not null) CaptionReplay.RequireCaptioner(clip);
            using var replay = replayPath is null ? null : CaptionReplay.Load(replayPath, clip.ImageSize);
            var negativeCaptions = Negatives(parse.GetValue(negatives)!, clip.ImageSize, inverted.Concepts.Select(c => c.Name).ToList(), options.Seed);
            using var state = target.HasState ? FineTuneState.Load(target.StatePath) : null;
            IReadOnlyList<double> losses = [];
            var log = tensorBoard.Open(parse);
            CliProgress.Steps(context, "fine-tuning", report =>
                losses = ConceptFineTuning.Run(clip, inverted.Images, inverted.Captioned, negativeCaptions, options, captionMode,
                    TensorBoardArguments.Recording(log, "finetune", CliProgress.FineTuning(report)), state,
                    inverted.FromLayer, replay));
            target.Complete(folder =>
            {
                clip.WriteModelFiles(folder);
                var record = new Dictionary<string, object?>
                {
                    ["images"] = Path.GetFullPath(parse.GetValue(images)!), ["train"] = FineTuneOptions.TrainModeName(options.Train),
                    ["learning_rate"] = options.LearningRate, ["caption"] = parse.GetValue(caption), ["seed"] = options.Seed,
                    ["from_layer"] = inverted.FromLayer, ["distill"] = options.DistillWeight, ["caption_weight"] = options.CaptionWeight,
                    ["replay"] = replayPath is null ? null : Path.GetFullPath(replayPath), ["losses"] = losses,
                    ["environment"] = RunEnvironment.Capture(clip.Device),
                };
                AtomicFile.WriteAllText(Path.Combine(folder, RecordFile), JsonSerializer.Serialize(record, SnakeCaseJson.Record) + "\n");
            });
            context.Console.WriteLine($"fine-tuned {losses.Count} steps, loss {losses[0]:F4} → {losses[^1]:F4}; saved {parse.GetValue(output)}");
            return 0;
        });
        return command;
    }

    /// <summary>The negative captions: the lines of a text file, or the first prompt of each reference class (the
    /// concepts themselves left out), as <c>learn</c> takes them.</summary>
    private static IReadOnlyList<string> Negatives(string spec, int imageSize, IReadOnlyList<string> conceptNames, int seed)
    {
        if (File.Exists(spec))
        {
            var lines = File.ReadAllLines(spec).Select(line => line.Trim()).Where(line => line.Length > 0).ToList();
            return lines.Count > 0 ? lines : throw new DatasetException($"{spec}: no negative captions in this file");
        }
        EmojiManifest? manifest = null;
        var sources = new ConceptSources(imageSize, () => manifest ??= EmojiInstaller.Install(MolyneuxHome.Default), seed);
        var reference = sources.Reference(spec, conceptNames.ToHashSet());
        using (reference.Images)
            return ConceptFineTuning.Negatives(reference, seed: seed);
    }
}
