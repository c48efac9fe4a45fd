using System.CommandLine;
using Molyneux.KnowledgeTransfer;

namespace Molyneux.Cli;

/// <summary>The inversion options <c>learn</c>, <c>demo</c> and <c>invert</c> share.</summary>
public sealed class InversionArguments
{
    public Option<int> Steps { get; } = new("--steps") { Description = "Inversion steps (the paper: 5000)", DefaultValueFactory = _ => 5000 };

    public Option<int> ImagesPerConcept { get; } = new("--images-per-concept") { Description = "Images inverted per concept, dealt out over its descriptions", DefaultValueFactory = _ => 10 };

    public Option<int> Copies { get; } = new("--copies") { Description = "Augmented copies per inversion step (Kazemi: 13)", DefaultValueFactory = _ => 13 };

    public Option<int> Seed { get; } = new("--seed") { DefaultValueFactory = _ => 0 };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Steps, ImagesPerConcept, Copies, Seed })
            command.Options.Add(option);
    }

    public InversionOptions Options(ParseResult parse)
    {
        var steps = parse.GetValue(Steps);
        if (steps <= 0) throw new OptionException($"--steps: must be positive, got {steps}");
        var (images, copies) = (parse.GetValue(ImagesPerConcept), parse.GetValue(Copies));
        if (images <= 0) throw new OptionException($"--images-per-concept: must be positive, got {images}");
        if (copies <= 0) throw new OptionException($"--copies: must be positive, got {copies}");
        return new InversionOptions { Steps = steps, ImagesPerConcept = images, AugmentedCopies = copies, Seed = parse.GetValue(Seed) };
    }
}
