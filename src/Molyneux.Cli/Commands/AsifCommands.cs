using System.CommandLine;
using Molyneux.Asif;
using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Runtime;
using Molyneux.Worlds.Emoji;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux asif …</c>: ASIF (Norelli et al.), a multimodal model made of two unimodal encoders and a set
/// of anchor image–caption pairs, with no training of its own (docs/asif.md).</summary>
public static class AsifCommands
{
    public static Command Create(CliContext context) => new("asif", "ASIF: image–text matching from two unimodal encoders and anchor pairs, without training")
    {
        Build(context),
        Classify(context),
        Explain(context),
        Add(context),
        Remove(context),
        TrainEncoders(context),
        Experiment(context),
    };

    /// <summary>The query-time settings every command that scores shares.</summary>
    private sealed class ScoringOptions
    {
        private readonly Option<int> nonZeros = new("-k") { Description = "Similarities kept per relative representation", DefaultValueFactory = _ => new AsifOptions().NonZeros };
        private readonly Option<double> exponent = new("-p") { Description = "Exponent applied to the kept similarities", DefaultValueFactory = _ => new AsifOptions().Exponent };
        private readonly Option<bool> clamp = new("--clamp-negatives") { Description = "Zero negative similarities before the exponent (ASIF's code keeps them)" };
        private readonly Option<string> ensemble = new("--ensemble") { Description = "max: a class scores its best prompt (ASIF); mean: the mean of its prompts' scores", DefaultValueFactory = _ => "max" };
        private readonly Option<string> templates = new("--templates")
        {
            Description = $"Prompt templates: {string.Join(", ", PromptTemplates.BuiltInNames)}, or a file with one template per line ({{}} = class)",
            DefaultValueFactory = _ => "openai_imagenet",
        };
        private readonly Option<string?> imageEncoder = new("--image-encoder") { Description = "Image encoder folder (default: the one the index records)" };
        private readonly Option<string?> textEncoder = new("--text-encoder") { Description = "Text encoder folder (default: the one the index records)" };
        private readonly Option<string> device = new("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };

        public ScoringOptions() => ensemble.AcceptOnlyFromAmong("max", "mean");

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { nonZeros, exponent, clamp, ensemble, templates, imageEncoder, textEncoder, device }) command.Options.Add(option);
        }

        public AsifOptions Asif(ParseResult parse)
        {
            var options = new AsifOptions
            {
                NonZeros = parse.GetValue(nonZeros),
                Exponent = parse.GetValue(exponent),
                ClampNegatives = parse.GetValue(clamp),
                Ensemble = parse.GetValue(ensemble) == "mean" ? TemplateEnsemble.Mean : TemplateEnsemble.Max,
            };
            options.Validate();
            return options;
        }

        public PromptTemplates Templates(ParseResult parse) => PromptTemplates.Load(parse.GetValue(templates)!);

        /// <summary>The encoders the index was built with (or the ones given), checked against its identities.</summary>
        public (IImageEncoder Image, ITextEncoder Text) Encoders(ParseResult parse, AsifIndex index) =>
            LoadEncoders(index, parse.GetValue(imageEncoder), parse.GetValue(textEncoder), ComputeDevice.Parse(parse.GetValue(device)!));
    }

    /// <summary>The encoders of commands that start from encoders (build, experiment): given, or the two pretrained
    /// ones that come with the build (ImageNet ResNet18, MiniLM), and whether to centre them.</summary>
    private sealed class EncoderFolderOptions
    {
        private readonly Option<string> image = new("--image-encoder")
        {
            Description = $"Image encoder: {UnimodalEncoders.ResNet18ImageNetName} (ImageNet ResNet18, built in) or a folder: HF ViT, " +
                          "CLIPVisionModelWithProjection (asif train-encoders)",
            DefaultValueFactory = _ => UnimodalEncoders.ResNet18ImageNetName,
        };
        private readonly Option<string> text = new("--text-encoder")
        {
            Description = $"Text encoder: {UnimodalEncoders.MiniLmName} (all-MiniLM-L6-v2, built in) or a folder: HF BERT sentence encoder, " +
                          "CLIPTextModelWithProjection (asif train-encoders)",
            DefaultValueFactory = _ => UnimodalEncoders.MiniLmName,
        };
        private readonly Option<bool?> centre = new("--centre")
        {
            Description = "Centre each modality on its anchors' mean embedding before the cosines (for encoders whose features " +
                          "share one direction, as a ResNet's post-ReLU features do); default: build: on for resnet18-imagenet, off otherwise; " +
                          "experiment: whichever does better on the validation split (Facebook's drawings, Google and Apple anchors)",
        };
        private readonly Option<string?> home = DataCommands.Home();

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { image, text, centre, home }) command.Options.Add(option);
        }

        public string Home(ParseResult parse) => parse.GetValue(home) ?? MolyneuxHome.Default;

        public (string Image, string Text) Folders(ParseResult parse) => (parse.GetValue(image)!, parse.GetValue(text)!);

        /// <summary>--centre as given, else on for the built-in ResNet18, whose post-ReLU features all share one
        /// direction (without it the emoji experiment falls from 43.1 % to 26.9 %), and off for other encoders.</summary>
        public bool Centre(ParseResult parse) =>
            GivenCentre(parse) ?? parse.GetValue(image) == UnimodalEncoders.ResNet18ImageNetName;

        /// <summary>--centre as given; null when it was not.</summary>
        public bool? GivenCentre(ParseResult parse) => parse.GetValue(centre);
    }

    private static (IImageEncoder Image, ITextEncoder Text) LoadEncoders(AsifIndex index, string? imageFolder, string? textFolder, ComputeDevice device)
    {
        string Folder(string? given, EncoderInfo recorded, string option) =>
            given ?? recorded.Path ?? throw new OptionException($"the index does not record where its encoders are; pass {option}");
        var image = UnimodalEncoders.LoadImageEncoder(Folder(imageFolder, index.ImageEncoder, "--image-encoder"), device);
        var text = UnimodalEncoders.LoadTextEncoder(Folder(textFolder, index.TextEncoder, "--text-encoder"), device);
        index.CheckEncoders(image, text);
        return (image, text);
    }

    private static Option<string> IndexOption() => new("--index") { Description = "ASIF index folder", Required = true };

    private static Option<bool> AllowOutsideRoot() => new("--allow-outside-root") { Description = "Accept image paths outside the anchors file's folder" };

    private static Command Build(CliContext context)
    {
        var encoders = new EncoderFolderOptions();
        var anchors = new Option<string>("--anchors") { Description = "Anchor pairs: JSONL {\"image\": \"relative/path\", \"captions\": [\"...\"]} per line, COCO or Karpathy .json, .csv/.tsv, or webdataset .tar shards (docs/datasets.md)", Required = true };
        var anchorArguments = new DatasetArguments(captions: true);
        var output = new Option<string>("--out", "-o") { Description = "Index folder to write", Required = true };
        var storage = new Option<string>("--storage") { Description = "fp32, fp16 or int8 (per-row scale)", DefaultValueFactory = _ => "fp32" };
        storage.AcceptOnlyFromAmong("fp32", "fp16", "int8");
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing index folder" };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var (allowOutside, batchSize) = (AllowOutsideRoot(), EvalCommands.BatchSize());
        var command = new Command("build", "Encode anchor image–caption pairs into an ASIF index");
        encoders.AddTo(command);
        anchorArguments.AddTo(command);
        foreach (var option in new Option[] { anchors, output, storage, overwrite, device, allowOutside, batchSize })
            command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var pairs = AnchorPair.FromCaptions(anchorArguments.OpenCaptions(parse, parse.GetValue(anchors)!, parse.GetValue(allowOutside)));
            var (imageFolder, textFolder) = encoders.Folders(parse);
            var computeDevice = ComputeDevice.Parse(parse.GetValue(device)!);
            var image = UnimodalEncoders.LoadImageEncoder(imageFolder, computeDevice);
            var text = UnimodalEncoders.LoadTextEncoder(textFolder, computeDevice);
            using var index = CliProgress.Run(context, progress => AsifIndex.Build(image, text, pairs, ParseStorage(parse.GetValue(storage)!),
                imageFolder, textFolder, parse.GetValue(batchSize), progress, encoders.Centre(parse)));
            index.Save(parse.GetValue(output)!, parse.GetValue(overwrite));
            context.Console.WriteLine($"{index.Anchors.Count} anchors ({pairs.Select(pair => pair.ImagePath).Distinct().Count()} images) " +
                                      $"in {parse.GetValue(output)}, {index.Storage.ToString().ToLowerInvariant()}{(index.Centred ? ", centred" : "")}, " +
                                      $"{(index.ImageAnchors.StoredBytes + index.TextAnchors.StoredBytes) / 1e6:F1} MB of embeddings");
            return 0;
        });
        return command;
    }

    private static Command Classify(CliContext context)
    {
        var scoring = new ScoringOptions();
        var index = IndexOption();
        var data = new Option<string>("--data") { Description = "Labelled images: DIR/<class>/…/<image> (optional DIR/classes.json), a Hugging Face image folder with metadata.jsonl/.csv, or CLIP_benchmark's DIR/classnames.txt + DIR/<split>/*.tar (docs/datasets.md)", Required = true };
        var dataArguments = new DatasetArguments(captions: false);
        var classes = new Option<string?>("--classes") { Description = "Comma-separated classes to keep, each 'name' or 'name=display name'" };
        var threshold = new Option<double?>("--unknown-threshold") { Description = "Answer 'unknown' when the best class scores below this" };
        var calibrate = new Option<string?>("--calibrate") { Description = "Held-out labelled images (any --data layout, same --split) to choose the unknown threshold on" };
        var maxWrong = new Option<double>("--max-wrong") { Description = "With --calibrate: the largest fraction of wrong answers allowed among answered images", DefaultValueFactory = _ => new UnknownThresholdOptions().MaxWrong };
        var (json, noCache, cacheFolder, batchSize) = (EvalCommands.JsonOut(), EvalCommands.NoCache(), EvalCommands.CacheFolder(), EvalCommands.BatchSize());
        var command = new Command("classify", "Zero-shot classification accuracy of an ASIF index on an image folder");
        scoring.AddTo(command);
        dataArguments.AddTo(command);
        foreach (var option in new Option[] { index, data, classes, threshold, calibrate, maxWrong, json.Option, noCache, cacheFolder, batchSize })
            command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            if (parse.GetValue(threshold) is not null && parse.GetValue(calibrate) is not null)
                throw new OptionException("give either --unknown-threshold or --calibrate, not both");
            var dataset = dataArguments.OpenLabeled(parse, parse.GetValue(data)!);
            using var asif = AsifIndex.Open(parse.GetValue(index)!);
            var (image, text) = scoring.Encoders(parse, asif);
            var options = new ClassificationOptions
            {
                ModelPath = parse.GetValue(index),
                Templates = scoring.Templates(parse),
                Ensemble = scoring.Asif(parse).Ensemble,
                Classes = parse.GetValue(classes) is { } list ? ClassSelection.Parse(list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)) : null,
                BatchSize = parse.GetValue(batchSize),
                Cache = EvalCommands.Cache(parse, noCache, cacheFolder),
            };
            var unknown = parse.GetValue(threshold) is { } value ? new UnknownThresholdOptions { Threshold = value }
                : parse.GetValue(calibrate) is { } folder ? new UnknownThresholdOptions { CalibrationSet = dataArguments.OpenLabeled(parse, folder), MaxWrong = parse.GetValue(maxWrong) }
                : null;
            var report = CliProgress.Run(context, progress => AsifEvaluation.EvaluateClassification(asif, parse.GetValue(index)!, image, text, dataset,
                options, scoring.Asif(parse), unknown, progress));
            if (json.Write(parse, context, report.ToJson)) return 0;
            EvalCommands.PrintClassification(context, report);
            if (report.Asif?.Unknown is { } answer)
                context.Console.WriteLine($"unknown below {answer.Threshold:G4}: {100 * answer.Accuracy:F1}% right, {100 * answer.Unknown:F1}% unknown, {100 * answer.Wrong:F1}% wrong");
            return 0;
        });
        return command;
    }

    private static Command Explain(CliContext context)
    {
        var scoring = new ScoringOptions();
        var index = IndexOption();
        var image = new Option<string>("--image") { Description = "The image to explain", Required = true };
        var classes = new Option<string?>("--classes") { Description = "Comma-separated candidate classes" };
        var data = new Option<string?>("--data") { Description = "Labelled images (any eval classify --data layout) whose classes are the candidates (instead of --classes)" };
        var dataArguments = new DatasetArguments(captions: false);
        var chosen = new Option<string?>("--class") { Description = "Explain this class's score instead of the prediction" };
        var top = new Option<int>("--top") { Description = "Anchors to show", DefaultValueFactory = _ => 10 };
        var command = new Command("explain", "Show the anchor pairs that make an image's prediction");
        scoring.AddTo(command);
        dataArguments.AddTo(command);
        foreach (var option in new Option[] { index, image, classes, data, chosen, top }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var names = parse.GetValue(classes) is { } list ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : parse.GetValue(data) is { } folder ? [.. dataArguments.OpenLabeled(parse, folder).ClassNames]
                : throw new OptionException("give the candidate classes with --classes or --data");
            if (names.Length == 0) throw new OptionException("--classes: no class names given");
            int? classIndex = parse.GetValue(chosen) is { } name
                ? Array.IndexOf(names, name) is >= 0 and var found ? found : throw new OptionException($"--class: '{name}' is not among the candidates")
                : null;
            using var asif = AsifIndex.Open(parse.GetValue(index)!);
            var (imageEncoder, textEncoder) = scoring.Encoders(parse, asif);
            var classifier = AsifClassifier.Build(asif, textEncoder, names, scoring.Templates(parse).PromptsFor(names), scoring.Asif(parse), cache: null);
            using var embedding = imageEncoder.EncodeImages([parse.GetValue(image)!]);
            var explanation = classifier.Explain(classifier.RepresentImages(embedding), 0, classIndex, parse.GetValue(top));
            context.Console.MarkupLine($"[bold]{Markup.Escape(explanation.ClassName)}[/] (prompt \"{Markup.Escape(explanation.Prompt)}\"), score {explanation.Score:G4}");
            var table = new Table().AddColumns("anchor", "caption", "image", "image sim", "text sim", "contribution");
            foreach (var anchor in explanation.Anchors)
                table.AddRow($"{anchor.Anchor}", Markup.Escape(anchor.Caption), Markup.Escape(anchor.ImagePath),
                    $"{anchor.ImageSimilarity:F3}", $"{anchor.TextSimilarity:F3}", $"{anchor.Contribution:G3}");
            context.Console.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Add(CliContext context)
    {
        var index = IndexOption();
        var anchors = new Option<string>("--anchors") { Description = "Pairs to add, in any format build takes", Required = true };
        var (allowOutside, batchSize) = (AllowOutsideRoot(), EvalCommands.BatchSize());
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var command = new Command("add", "Add anchor pairs to an index (only they are encoded)") { index, anchors, allowOutside, batchSize, device };
        var anchorArguments = new DatasetArguments(captions: true);
        anchorArguments.AddTo(command);
        context.SetAction(command, parse =>
        {
            var pairs = AnchorPair.FromCaptions(anchorArguments.OpenCaptions(parse, parse.GetValue(anchors)!, parse.GetValue(allowOutside)));
            var folder = parse.GetValue(index)!;
            using var asif = AsifIndex.Open(folder);
            var (image, text) = LoadEncoders(asif, null, null, ComputeDevice.Parse(parse.GetValue(device)!));
            using var grown = CliProgress.Run(context, progress => asif.Add(image, text, pairs, parse.GetValue(batchSize), progress));
            grown.Save(folder, overwrite: true);
            context.Console.WriteLine($"added {grown.Anchors.Count - asif.Anchors.Count} anchors ({pairs.Count - (grown.Anchors.Count - asif.Anchors.Count)} already there); {grown.Anchors.Count} in all");
            return 0;
        });
        return command;
    }

    private static Command Remove(CliContext context)
    {
        var index = IndexOption();
        var anchors = new Option<string?>("--anchors") { Description = "Remove the pairs of this file (any format build takes)" };
        var images = new Option<string[]>("--image") { Description = "Remove every anchor of this image (repeatable)", AllowMultipleArgumentsPerToken = true };
        var allowOutside = AllowOutsideRoot();
        var command = new Command("remove", "Remove anchor pairs from an index") { index, anchors, images, allowOutside };
        var anchorArguments = new DatasetArguments(captions: true);
        anchorArguments.AddTo(command);
        context.SetAction(command, parse =>
        {
            var pairs = parse.GetValue(anchors) is { } file ? AnchorPair.FromCaptions(anchorArguments.OpenCaptions(parse, file, parse.GetValue(allowOutside))).ToHashSet() : [];
            var paths = (parse.GetValue(images) ?? []).Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
            if (pairs.Count + paths.Count == 0) throw new OptionException("say what to remove with --anchors or --image");
            var folder = parse.GetValue(index)!;
            using var asif = AsifIndex.Open(folder);
            using var kept = asif.Remove(pair => pairs.Contains(pair) || paths.Contains(pair.ImagePath));
            kept.Save(folder, overwrite: true);
            context.Console.WriteLine($"removed {asif.Anchors.Count - kept.Anchors.Count} anchors; {kept.Anchors.Count} left");
            return 0;
        });
        return command;
    }

    private static AnchorStorage ParseStorage(string name) => name switch
    {
        "fp16" => AnchorStorage.Fp16,
        "int8" => AnchorStorage.Int8,
        _ => AnchorStorage.Fp32,
    };

    private static Command TrainEncoders(CliContext context)
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder to write: OUT/image and OUT/text (HF CLIP*ModelWithProjection folders)", Required = true };
        var minutes = new Option<double>("--minutes") { Description = "Time budget per encoder", DefaultValueFactory = _ => new EncoderTrainingOptions().Minutes!.Value };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps per encoder (exactly reproducible; overrides --minutes)" };
        var seed = new Option<int>("--seed") { Description = "Random seed of the encoders' initialisation and data order; with --steps the same seed repeats a run", DefaultValueFactory = _ => 0 };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder" };
        var home = DataCommands.Home();
        var command = new Command("train-encoders", "Train an image encoder and a text encoder on the emoji world, each without the other modality");
        foreach (var option in new Option[] { output, minutes, steps, seed, overwrite, home }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var options = new EncoderTrainingOptions { Minutes = parse.GetValue(minutes), Steps = parse.GetValue(steps), Seed = parse.GetValue(seed) };
            options.Validate();
            var messages = new Progress<string>(message => context.Info.WriteLine(message));
            var manifest = EmojiInstaller.Install(parse.GetValue(home) ?? MolyneuxHome.Default, messages);
            EmojiAsifEncoders.Train(manifest, parse.GetValue(output)!, options, parse.GetValue(overwrite), EncoderProgress(context));
            context.Console.WriteLine($"saved {parse.GetValue(output)}/{EmojiAsifEncoders.ImageFolder} and {parse.GetValue(output)}/{EmojiAsifEncoders.TextFolder}");
            return 0;
        });
        return command;
    }

    private static Command Experiment(CliContext context)
    {
        var encoders = new EncoderFolderOptions();
        var json = new JsonOutputOption("The experiment's results as JSON (snake_case fields)");
        var maxWrong = new Option<double>("--max-wrong") { Description = "Wrong answers allowed among answered calibration images", DefaultValueFactory = _ => 0.5 };
        var command = new Command("experiment", "The emoji acceptance experiment: anchors from three vendors, Twitter's drawings classified among all emoji")
        {
            json.Option, maxWrong,
        };
        encoders.AddTo(command);
        context.SetAction(command, parse =>
        {
            var messages = new Progress<string>(message => context.Info.WriteLine(message));
            var (imageFolder, textFolder) = encoders.Folders(parse);
            var result = EmojiAsifExperiment.Run(EmojiInstaller.Install(encoders.Home(parse), messages), UnimodalEncoders.LoadImageEncoder(imageFolder),
                UnimodalEncoders.LoadTextEncoder(textFolder), parse.GetValue(maxWrong), messages: messages, centre: encoders.GivenCentre(parse));
            if (json.Write(parse, context, result.ToJson)) return 0;
            if (result.Centring is { } choice)
                context.Console.WriteLine($"centring chosen on the validation split ({choice.ValidationStyle} drawings): top-1 {100 * choice.UncentredTop1:F1}% uncentred, " +
                                          $"{100 * choice.CentredTop1:F1}% centred: {(choice.Centred ? "centred" : "uncentred")}");
            context.Console.WriteLine($"{result.Anchors} anchors{(result.Centred ? ", centred" : "")}, {result.TestImages} Twitter images among {result.Classes} emoji: " +
                                      $"top-1 {100 * result.Top1:F1}%, top-5 {100 * result.Top5:F1}% ({result.Seconds:F0} s)");
            context.Console.WriteLine($"encoders alone: nearest anchor image same emoji {100 * result.ImageNeighbourAccuracy:F1}%, " +
                                      $"nearest anchor caption same emoji {100 * result.TextNeighbourAccuracy:F1}%");
            foreach (var (title, curve) in new[] { ("anchors", result.ByAnchors), ("k", result.ByNonZeros), ("p", result.ByExponent) })
            {
                var table = new Table().AddColumns(title, "top-1", "top-5");
                foreach (var point in curve) table.AddRow($"{point.Setting:G}", $"{100 * point.Top1:F1}%", $"{100 * point.Top5:F1}%");
                context.Console.Write(table);
            }
            var storage = new Table().AddColumns("storage", "top-1", "top-5");
            foreach (var (name, point) in result.ByStorage) storage.AddRow(name, $"{100 * point.Top1:F1}%", $"{100 * point.Top5:F1}%");
            context.Console.Write(storage);
            context.Console.WriteLine($"unknown below {result.UnknownThreshold:G4}: {100 * result.Unknown.Accuracy:F1}% right, " +
                                      $"{100 * result.Unknown.Unknown:F1}% unknown, {100 * result.Unknown.Wrong:F1}% wrong; " +
                                      $"held-out emoji answered unknown {100 * result.OutOfSetUnknown:F1}%");
            return 0;
        });
        return command;
    }

    /// <summary>A line every 10% of each encoder's training, for terminals and logs alike.</summary>
    private static IProgress<EncoderTrainingProgress> EncoderProgress(CliContext context)
    {
        var lastTenth = -1;
        return new CliProgress.SynchronousProgress<EncoderTrainingProgress>(report =>
        {
            var tenth = (int)(10 * report.Done);
            if (tenth == lastTenth) return;
            lastTenth = tenth == 10 ? -1 : tenth;
            context.Info.WriteLine($"{report.Encoder} encoder: {100 * report.Done:F0}%, step {report.Step}, loss {report.Loss:F4}, {report.Minutes:F1} min");
        });
    }
}
