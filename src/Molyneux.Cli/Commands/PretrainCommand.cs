using System.CommandLine;
using Molyneux.Captioning;
using Molyneux.Evaluation;
using Molyneux.KnowledgeTransfer;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Worlds;
using Molyneux.Worlds.Emoji;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux pretrain</c>: contrastive CLIP training from scratch on the emoji world, the shapes world or
/// a captions file, ending in a HF checkpoint folder with training.json and training.png.</summary>
public static class PretrainCommand
{
    public static Command Create(CliContext context)
    {
        var data = new Option<string>("--data") { Description = "emoji, shapes, shapes-plain (one solid shape on black), or image-caption pairs: a captions .jsonl, COCO or Karpathy .json, .csv/.tsv, or webdataset .tar shards (docs/datasets.md)", Required = true };
        var split = new Option<string?>("--split") { Description = "With image-caption pairs: the Karpathy split or split folder to train on" };
        var objective = new Option<string>("--objective") { Description = "clip (contrastive; a HF CLIPModel folder) or coca (contrastive + captioning as open_clip's CoCa; an open_clip CoCa folder that caption reads)", DefaultValueFactory = _ => "clip" };
        objective.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is not ("clip" or "coca"))
                result.AddError($"--objective: expected clip or coca, got '{result.GetValueOrDefault<string>()}'");
        });
        var preset = new Option<string>("--preset") { Description = $"micro, tiny or small (molyneux-micro…; with --objective coca: micro or tiny, coca-micro…), another shipped preset ({string.Join(", ", Molyneux.Modeling.ClipConfig.PresetNames)}), or a model config .json file", DefaultValueFactory = _ => "tiny" };
        preset.Validators.Add(result =>
        {
            if (LibraryPreset(result.GetValueOrDefault<string>()) is null && CocaPreset(result.GetValueOrDefault<string>()) is null)
                result.AddError($"--preset: expected micro, tiny, small, a shipped preset ({string.Join(", ", Molyneux.Modeling.ClipConfig.PresetNames)}, {string.Join(", ", CocaPresets.Names)}) or a config .json file, got '{result.GetValueOrDefault<string>()}'");
        });
        var output = new Option<string>("--out", "-o") { Description = "Output folder (a HF CLIPModel folder; with --objective coca, open_clip CoCa weights and config)", Required = true };
        var minutes = new Option<double?>("--minutes") { Description = "Time budget, turned into steps from the first steps' speed" };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps (exactly reproducible for a seed)" };
        var seed = new Option<int>("--seed") { Description = "Random seed of the initialisation, the data and its order; with --steps the same seed repeats a run", DefaultValueFactory = _ => 0 };
        var withhold = new Option<string?>("--withhold") { Description = "Concepts file (Knowledge Transfer format) whose concepts pretraining never sees by name" };
        var resumable = new ResumeArguments();
        var batchSize = new Option<int>("--batch-size") { Description = "Image–caption pairs per step (the other pairs of a batch are the negatives; at least 2)", DefaultValueFactory = _ => new PretrainOptions().BatchSize };
        var learningRate = new Option<double>("--lr") { Description = "Peak AdamW learning rate, after the warm-up", DefaultValueFactory = _ => new PretrainOptions().LearningRate };
        var vocabularySize = new Option<int>("--vocab-size") { Description = "Size of the byte-level BPE vocabulary trained on the captions (special tokens included)", DefaultValueFactory = _ => new PretrainOptions().VocabularySize };
        var shapesCount = new Option<int>("--shapes-count") { Description = "Size of the shapes world for --data shapes (scenes are drawn on demand)", DefaultValueFactory = _ => 1_000_000 };
        var imageSize = new Option<int?>("--image-size") { Description = "Image size for shapes (default 32) or a captions file (default 64)" };
        var home = DataCommands.Home();
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var tensorBoard = new TensorBoardArguments();
        var command = new Command("pretrain", "Pretrain a small CLIP or CoCa from scratch (contrastive [+ captioning], AdamW, warm-up + cosine)");
        foreach (var option in new Option[] { objective, data, split, preset, output, minutes, steps, seed, withhold, batchSize, learningRate, vocabularySize, shapesCount, imageSize, home, device })
            command.Options.Add(option);
        resumable.AddTo(command);
        tensorBoard.AddTo(command);
        context.SetAction(command, parse =>
        {
            var isCoca = parse.GetValue(objective) == "coca";
            var options = new PretrainOptions
            {
                Objective = isCoca ? PretrainObjective.Coca : PretrainObjective.Clip,
                Preset = isCoca ? CocaPreset(parse.GetValue(preset)!) ?? parse.GetValue(preset)! : LibraryPreset(parse.GetValue(preset)!) ?? parse.GetValue(preset)!,
                Minutes = parse.GetValue(minutes),
                Steps = parse.GetValue(steps),
                Seed = parse.GetValue(seed),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(learningRate),
                VocabularySize = parse.GetValue(vocabularySize),
            };
            options.Validate();
            var messages = new Progress<string>(message => context.Info.WriteLine(message));
            var pretrainingData = LoadData(parse.GetValue(data)!, parse.GetValue(withhold), parse.GetValue(home) ?? MolyneuxHome.Default,
                parse.GetValue(shapesCount), parse.GetValue(imageSize), options.Seed, messages, split: parse.GetValue(split));
            var log = tensorBoard.Open(parse);
            TrainingRecord Train(Action<int, int, string> report, CancellationToken cancellation)
            {
                var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
                var progress = TensorBoardArguments.Recording(log, "pretrain", CliProgress.Pretraining(report));
                var (target, resume, overwrite) = (parse.GetValue(output)!, parse.GetValue(resumable.Resume), parse.GetValue(resumable.Overwrite));
                return isCoca
                    ? new CocaPretrainer(pretrainingData, options, computeDevice) { Progress = progress }.Run(target, resume, overwrite, cancellation)
                    : new ClipPretrainer(pretrainingData, options, computeDevice) { Progress = progress }.Run(target, resume, overwrite, cancellation);
            }
            // Ctrl+C saves the state so that --resume continues from there.
            TrainingRecord? record = null;
            if (!Interruption.Run(context, parse.GetValue(output)!, token => CliProgress.Steps(context, "pretraining", report => record = Train(report, token))))
                return Interruption.ExitCode;
            var table = new Table().AddColumns("final", "value");
            foreach (var (name, value) in record!.Final) table.AddRow(name, name.EndsWith("_top1") || name.EndsWith("_top5") ? $"{100 * value:F1}%" : $"{value:G4}");
            context.Console.Write(table);
            context.Console.WriteLine($"saved {parse.GetValue(output)} (training.json, training.png{(isCoca ? $", {CocaPretrainer.SamplesFileName}, {CocaPretrainer.SamplesPageFileName}" : "")})");
            if (isCoca)
                context.Console.WriteLine($"caption with: molyneux caption --model {parse.GetValue(output)} --image DIR");
            return 0;
        });
        return command;
    }

    /// <summary>What <see cref="PretrainOptions.Preset"/> takes for a --preset value: the config file itself, Molyneux's
    /// preset for a short name (tiny → molyneux-tiny), or any shipped preset by name (<see cref="Molyneux.Modeling.ClipConfig.PresetNames"/>,
    /// the list --config takes too); null for anything else.</summary>
    private static string? LibraryPreset(string value) =>
        value.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? value
        : value is "micro" or "tiny" or "small" ? "molyneux-" + value
        : Molyneux.Modeling.ClipConfig.PresetName(value);

    /// <summary>What <see cref="PretrainOptions.Preset"/> takes for a --preset value with --objective coca: a config
    /// file itself, coca-micro/coca-tiny for micro/tiny or their full names; null for anything else.</summary>
    private static string? CocaPreset(string value) =>
        value.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? value
        : value is "micro" or "tiny" ? "coca-" + value
        : CocaPresets.Find(value) is null ? null : value.ToLowerInvariant();

    /// <param name="emojiValidation">For emoji: the validation split (<see cref="EmojiSplitOptions.ForValidation"/>).</param>
    /// <param name="split">For image-caption pairs: the split to read (<see cref="CaptionPairDatasets.Open"/>); webdataset
    /// shards are unpacked under <paramref name="home"/>.</param>
    internal static IPretrainingData LoadData(string data, string? withhold, string home, int shapesCount, int? imageSize, int seed, IProgress<string> messages,
        bool emojiValidation = false, string? split = null)
    {
        if (split is not null && data is "emoji" or "shapes" or "shapes-plain")
            throw new OptionException($"--split: {data} is a generated world; --split is for image-caption pairs");
        if (emojiValidation && data != "emoji") throw new OptionException("--validation: only the emoji world has a validation split (shapes: change --seed)");
        switch (data)
        {
            case "emoji":
                var manifest = EmojiInstaller.Install(home, messages);
                var splitOptions = withhold is null ? new EmojiSplitOptions() : new EmojiSplitOptions { HeldOutConcepts = ConceptsFile.Read(withhold) };
                if (emojiValidation) splitOptions = splitOptions.ForValidation();
                return new EmojiPretrainingData(manifest, EmojiSplits.Split(manifest, splitOptions), messages);
            case "shapes" or "shapes-plain":
                var concepts = withhold is null ? [] : ConceptsFile.Read(withhold).Select(concept => ShapesConcepts.ByName(concept.Name)).ToList();
                var configuration = data == "shapes-plain" ? ShapesWorldOptions.Plain : new ShapesWorldOptions();
                var world = new ShapesWorld(configuration with { ImageSize = imageSize ?? 32, Withhold = concepts });
                return new ShapesPretrainingData(world, shapesCount, seed);
            default:
                if (!File.Exists(data) && !Directory.Exists(data))
                    throw new OptionException($"--data: '{data}' is not emoji, shapes, shapes-plain or an existing captions file (or folder of .tar shards)");
                var pairs = CaptionPairDatasets.Open(data, split, new DatasetReadOptions { ShardCache = WebDatasetShards.CacheUnder(home) });
                return new CaptionsPretrainingData(pairs, imageSize ?? 64);
        }
    }
}
