using Molyneux.Modeling;
using Molyneux.Runtime;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Knowledge Transfer's first stage on its own (<c>molyneux invert</c>): inverts the image encoder on every
/// concept's descriptions (<see cref="Inversion"/>, <see cref="InversionOptions.ImagesPerConcept"/> images per
/// concept dealt out over its descriptions) and writes an <see cref="InvertedConcepts"/> folder. With a save interval
/// the run keeps its state in <c>OUT.resume/</c> and can be continued after an interruption, ending exactly where an
/// uninterrupted run would.</summary>
public sealed class ConceptInverter(InversionOptions options)
{
    public const string StateFile = "inversion_state.safetensors";

    public IProgress<InversionProgress>? Progress { get; init; }

    /// <summary>Where the inverted images go at the end, beside the scalars <see cref="Progress"/> may record.</summary>
    public TensorBoardLog? Log { get; init; }

    /// <param name="target">The output folder, made with <see cref="StateFile"/> as its state file; when it has a
    /// state, the run continues from it.</param>
    /// <param name="saveEvery">Save the state every this many steps (0: never).</param>
    /// <param name="clip">The frozen model whose image features the inverted images are optimized to match.</param>
    /// <param name="concepts">The concepts to invert, each with the description(s) its images are inverted from.</param>
    /// <param name="cancellationToken">Stops the run between steps (the state saved so far stays resumable).</param>
    public void Run(IVisionLanguageModel clip, IReadOnlyList<DescribedConcept> concepts, ResumableOutput target, int saveEvery,
        CancellationToken cancellationToken = default)
    {
        if (concepts.Count == 0) throw new OptionException("inversion: no concepts given");
        var runOptions = options with { SaveStateEvery = saveEvery, StatePath = saveEvery > 0 ? target.StatePath : null };
        using var state = target.HasState ? InversionState.Load(target.StatePath) : null;
        using var targets = clip.EncodeTexts(DescribedConcept.OfImages(concepts.Select(concept => concept.Descriptions), options.ImagesPerConcept));
        using var result = Inversion.Run(clip, targets, runOptions, state, Progress, cancellationToken);
        if (result.PartialLayer is null) Log?.Images("inversion/images", result.Inverted, options.Steps);
        target.Complete(folder => InvertedConcepts.Write(folder, result, concepts, options.ImagesPerConcept, clip.Identity, options, RunEnvironment.Capture(clip.Device)));
    }
}
