using System.CommandLine;
using System.Text.Json;
using Molyneux.Alignment;
using Molyneux.Asif;
using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Worlds;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux align</c>: contrastive alignment of two pretrained towers (the built-in ResNet18 and MiniLM,
/// any image and text tower named as ASIF names its encoders, or a dual encoder folder) on image–caption pairs, ending
/// in a HF VisionTextDualEncoderModel folder with training.json and training.png.</summary>
public static class AlignCommand
{
    public const string BuiltInTowers = "resnet18+minilm";

    public static Command Create(CliContext context)
    {
        var defaults = new AlignOptions();
        var data = new Option<string>("--data") { Description = "emoji, shapes, shapes-plain or a captions .jsonl file", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output folder (a HF VisionTextDualEncoderModel folder)", Required = true };
        var from = new Option<string>("--from") { Description = $"The towers to align: {BuiltInTowers} (built in, or as --image-tower and --text-tower say) or a dual encoder folder", DefaultValueFactory = _ => BuiltInTowers };
        var imageTower = new Option<string>("--image-tower") { Description = $"A pretrained image tower: {UnimodalEncoders.ResNet18ImageNetName} (built in), or a folder of a HF ViT, a CLIP vision tower, a CLIP or a dual encoder", DefaultValueFactory = _ => UnimodalEncoders.ResNet18ImageNetName };
        var textTower = new Option<string>("--text-tower") { Description = $"A pretrained text tower: {UnimodalEncoders.MiniLmName} (built in), or a folder of a HF BERT, a CLIP text tower, a CLIP or a dual encoder", DefaultValueFactory = _ => UnimodalEncoders.MiniLmName };
        var train = new Option<string>("--train") { Description = "projections, image-projection (the text side kept as the text tower's), image, text, image+projections or all", DefaultValueFactory = _ => "projections" };
        var unlocked = new Option<int>("--unlocked-stages") { Description = "How many of the image tower's last stages train with it (a ResNet's stages, a ViT's layers)", DefaultValueFactory = _ => defaults.UnlockedImageStages };
        var projectionDim = new Option<int>("--projection-dim") { Description = "Size of the shared space, for fresh projections", DefaultValueFactory = _ => BuiltInModel.ProjectionDim };
        var learningRate = new Option<double>("--lr") { Description = "Learning rate of the projections and temperature", DefaultValueFactory = _ => defaults.ProjectionLearningRate };
        var towerLearningRate = new Option<double>("--tower-lr") { Description = "Learning rate of an unlocked pretrained tower", DefaultValueFactory = _ => defaults.TowerLearningRate };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => defaults.WeightDecay };
        var batchSize = new Option<int>("--batch-size") { Description = "Image–caption pairs per step (the other pairs of a batch are the negatives)", DefaultValueFactory = _ => defaults.BatchSize };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps (exactly reproducible for a seed)", DefaultValueFactory = _ => defaults.Steps };
        var imageViews = new Option<int>("--image-views") { Description = "Views of each training image encoded once (the image, then warped copies); epoch e trains on view e mod N", DefaultValueFactory = _ => defaults.ImageViews };
        var probeEvery = new Option<int>("--probe-every") { Description = "Evaluate the held-out probes every this many steps", DefaultValueFactory = _ => defaults.ProbeEvery };
        var seed = new Option<int>("--seed") { Description = "Random seed of fresh projections, the data and its order; the same seed repeats a run", DefaultValueFactory = _ => 0 };
        var withhold = new Option<string?>("--withhold") { Description = "Concepts file (Knowledge Transfer format) whose concepts alignment never sees by name" };
        var imageSize = new Option<int?>("--image-size") { Description = "Image size for shapes (default 32) or a captions file (default 64); the towers resize to their own input" };
        var shapesCount = new Option<int>("--shapes-count") { Description = "How many scenes of a shapes world to align on (each is encoded once)", DefaultValueFactory = _ => 4096 };
        var inputSize = new Option<int?>("--input-size") { Description = $"A ResNet tower's input size in pixels (default: {BuiltInModel.InputSize} for the built-in ResNet18, as the built-in models; otherwise the tower's own); smaller is faster" };
        var validation = new Option<bool>("--validation") { Description = "emoji: train on Google and Apple drawings and probe Facebook's, to choose settings without seeing Twitter" };
        var minutes = new Option<double?>("--minutes") { Description = "Time budget of the whole run: the steps that fit after the set-up, from the speed of timed steps (instead of --steps)" };
        var resumable = new ResumeArguments();
        var home = DataCommands.Home();
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var tensorBoard = new TensorBoardArguments();
        var command = new Command("align", "Align two pretrained towers into a dual encoder on image-caption pairs (LiT-style contrastive training)");
        tensorBoard.AddTo(command);
        resumable.AddTo(command);
        foreach (var option in new Option[] { data, output, from, imageTower, textTower, train, unlocked, projectionDim, learningRate, towerLearningRate, weightDecay, batchSize, steps, imageViews, probeEvery, seed, withhold, shapesCount, imageSize, inputSize, validation, minutes, home, device })
            command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var options = new AlignOptions
            {
                Train = AlignOptions.ParseTrain(parse.GetValue(train)!),
                UnlockedImageStages = parse.GetValue(unlocked),
                ProjectionLearningRate = parse.GetValue(learningRate),
                TowerLearningRate = parse.GetValue(towerLearningRate),
                WeightDecay = parse.GetValue(weightDecay),
                BatchSize = parse.GetValue(batchSize),
                Steps = parse.GetValue(steps),
                Minutes = parse.GetValue(minutes),
                ImageViews = parse.GetValue(imageViews),
                ProbeEvery = parse.GetValue(probeEvery),
                Seed = parse.GetValue(seed),
            };
            options.Validate();
            if (options.Minutes is not null && parse.GetResult(steps) is { Implicit: false })
                throw new OptionException("give --steps or --minutes, not both");
            if (parse.GetValue(inputSize) is < 32 and var tooSmall) throw new OptionException($"--input-size {tooSmall}: the ResNet needs at least 32 pixels");
            var folder = parse.GetValue(output)!;
            var target = resumable.Output(parse, folder, Aligner.StateFile);
            var source = parse.GetValue(from)!;
            var (imageSource, textSource) = (parse.GetValue(imageTower)!, parse.GetValue(textTower)!);
            var builtInTowers = source == BuiltInTowers && imageSource == UnimodalEncoders.ResNet18ImageNetName && textSource == UnimodalEncoders.MiniLmName;
            if (source != BuiltInTowers && (parse.GetResult(imageTower) is { Implicit: false } || parse.GetResult(textTower) is { Implicit: false }))
                throw new OptionException($"--from {source}: a dual encoder folder brings its own towers; --image-tower and --text-tower choose towers for a new one");
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
            var messages = new Progress<string>(message => context.Info.WriteLine(message));
            var pairs = PretrainCommand.LoadData(parse.GetValue(data)!, parse.GetValue(withhold), parse.GetValue(home) ?? MolyneuxHome.Default,
                parse.GetValue(shapesCount), parse.GetValue(imageSize), options.Seed, messages, parse.GetValue(validation));
            using var model = source == BuiltInTowers
                ? DualEncoderCheckpoint.FromTowers(imageSource, textSource, parse.GetValue(projectionDim), options.Seed, computeDevice)
                : DualEncoderCheckpoint.Load(source, computeDevice);
            var defaultSize = source == BuiltInTowers && imageSource == UnimodalEncoders.ResNet18ImageNetName ? BuiltInModel.InputSize : (int?)null;
            if ((parse.GetValue(inputSize) ?? defaultSize) is { } size) model.ResizeImageInput(size);
            AlignResult? result = null;
            var log = tensorBoard.Open(parse);
            // Ctrl+C saves the state so that --resume continues from there; so does a save every few minutes.
            if (!Interruption.Run(context, folder, token => CliProgress.Steps(context, "aligning", report =>
                    result = new Aligner(options)
                    {
                        Progress = TensorBoardArguments.Recording(log, "align", CliProgress.Alignment(context, report)), State = target,
                    }.Run(model, pairs, token))))
                return Interruption.ExitCode;
            target.Complete(written =>
            {
                model.WriteModelFiles(written);
                // With the built-in towers locked, the projections are all a run changed: the file alone rebuilds the model.
                if (builtInTowers && options.TrainsProjectionsOnly())
                    DualEncoderCheckpoint.SaveProjections(model, Path.Combine(written, DualEncoderCheckpoint.ProjectionsFile));
                var record = new { from = source == BuiltInTowers && !builtInTowers ? $"{imageSource}+{textSource}" : source, result!.Data, train = parse.GetValue(train), result.Options, result.TrainableParameters, minutes = result.Elapsed.TotalMinutes, result.Curve, environment = RunEnvironment.Capture(model.Device) };
                AtomicFile.WriteAllText(Path.Combine(written, "training.json"), JsonSerializer.Serialize(record, SnakeCaseJson.Record) + "\n");
                TrainingRecord.SavePlot(result.Curve, Path.Combine(written, "training.png"));
            });
            var final = result!.Curve[^1];
            var table = new Table().AddColumns("final", "value");
            table.AddRow("loss", $"{final.Loss:F4}");
            foreach (var (name, value) in final.Probes ?? new Dictionary<string, double>()) table.AddRow(Markup.Escape(name), $"{100 * value:F1}%");
            context.Console.Write(table);
            context.Console.WriteLine($"saved {folder} (a vision_text_dual_encoder folder, training.json, training.png) after {result.Elapsed.TotalMinutes:F1} minutes");
            return 0;
        });
        return command;
    }
}
