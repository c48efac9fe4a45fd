using System.CommandLine;
using Molyneux.KnowledgeTransfer;
using Molyneux.Runtime;
using Molyneux.Worlds;
using Molyneux.Worlds.Emoji;
using Spectre.Console;

namespace Molyneux.Cli.Commands;

/// <summary><c>molyneux data emoji|shapes</c>: install the emoji world from npm; export the shapes world to disk (captions,
/// an image folder per question class, or object scenes with masks for segmentation).</summary>
public static class DataCommands
{
    public static Option<string?> Home() => new("--home") { Description = $"Molyneux's cache folder (default $MOLYNEUX_HOME, else {MolyneuxHome.Default})" };

    public static Command Create(CliContext context) => new("data", "Install or generate the default worlds' data")
    {
        Emoji(context),
        Shapes(context),
    };

    private static Command Emoji(CliContext context)
    {
        var home = Home();
        var command = new Command("emoji", "Install the emoji sets of five vendors and their English names and keywords from npm (idempotent)") { home };
        context.SetAction(command, parse =>
        {
            var manifest = EmojiInstaller.Install(parse.GetValue(home) ?? MolyneuxHome.Default,
                new Progress<string>(message => context.Console.MarkupLine($"[grey]{Markup.Escape(message)}[/]")));
            var table = new Table().AddColumns("style", "concepts with an image");
            foreach (var style in manifest.Styles)
                table.AddRow(style, $"{manifest.Concepts.Count(concept => concept.Images.ContainsKey(style))}");
            context.Console.Write(table);
            context.Console.WriteLine($"{manifest.Concepts.Count} concepts in {manifest.Folder}");
            return 0;
        });
        return command;
    }

    private static Command Shapes(CliContext context)
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder to write", Required = true };
        var count = new Option<int>("--count") { Description = "Scenes to generate (captions export), per class (question export) or per concept (masks export)", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Random seed of the scenes; the same seed writes the same files", DefaultValueFactory = _ => 0 };
        var size = new Option<int>("--image-size") { Description = "Side of the square images, in pixels", DefaultValueFactory = _ => 32 };
        var question = new Option<string?>("--question") { Description = "Write an image folder for this question instead of captions: color, shape or concepts" };
        var masks = new Option<bool>("--masks") { Description = "Write object scenes for segmentation instead: per object concept, images, the target's masks and a concepts.json" };
        var reference = new Option<bool>("--reference") { Description = "With --masks: the reference objects (ordinary objects to segment by description, never taught) instead of the object concepts" };
        var references = new Option<int>("--references") { Description = "Captions per scene in captions.jsonl: its own and more phrasings of it, as a captioner's probe scores against (pretrain --objective coca uses 5)", DefaultValueFactory = _ => 1 };
        var plain = new Option<bool>("--plain") { Description = "One solid shape per scene on black (the world of pretrain --data shapes-plain)" };
        var withhold = new Option<string?>("--withhold") { Description = "A concepts file of shapes concepts no scene may show (as pretrain --withhold): ordinary scenes, e.g. for learn --replay" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing output folder" };
        var command = new Command("shapes", "Export the procedural shapes world: captions.jsonl + images, an image folder per class, or object scenes with masks");
        foreach (var option in new Option[] { output, count, seed, size, question, masks, reference, references, plain, withhold, overwrite }) command.Options.Add(option);
        context.SetAction(command, parse =>
        {
            var configuration = parse.GetValue(plain) ? ShapesWorldOptions.Plain : new ShapesWorldOptions();
            var withheld = parse.GetValue(withhold) is { } file ? ConceptsFile.Read(file).Select(concept => ShapesConcepts.ByName(concept.Name)).ToList() : [];
            var world = new ShapesWorld(configuration with { ImageSize = parse.GetValue(size), Withhold = withheld });
            var target = parse.GetValue(output)!;
            if (parse.GetResult(references) is { Implicit: false } && (parse.GetValue(masks) || parse.GetValue(question) is not null))
                throw new OptionException("--references sets the captions of the captions export; --masks and --question write no captions");
            if (parse.GetValue(masks))
            {
                if (parse.GetValue(question) is not null) throw new OptionException("--masks writes object scenes, --question an image folder per class: give one of them");
                if (parse.GetValue(plain)) throw new OptionException("--masks draws object scenes of the full world (patterned objects on grounds of any colour); it cannot be combined with --plain");
                var objects = parse.GetValue(reference) ? ShapesObjectConcepts.Reference : ShapesObjectConcepts.All;
                world.ExportObjectScenes(target, objects, parse.GetValue(count), parse.GetValue(seed), parse.GetValue(overwrite));
            }
            else if (parse.GetValue(reference)) throw new OptionException("--reference chooses the objects of --masks; give --masks too");
            else if (parse.GetValue(question) is { } name)
            {
                var chosen = name switch
                {
                    "color" => ShapesQuestion.Color,
                    "shape" => ShapesQuestion.Shape,
                    "concepts" => ShapesQuestion.Concepts(ShapesConcepts.All, ConceptPrompts.Names),
                    _ => throw new OptionException($"--question: unknown value '{name}', expected color, shape or concepts"),
                };
                world.ExportImageFolder(target, chosen, parse.GetValue(count), parse.GetValue(seed), parse.GetValue(overwrite));
            }
            else
                world.Export(target, parse.GetValue(count), parse.GetValue(seed), parse.GetValue(overwrite), parse.GetValue(references));
            context.Console.WriteLine($"wrote {target}");
            return 0;
        });
        return command;
    }
}
