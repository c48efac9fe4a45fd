using Molyneux.Modeling;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>A concept's inverted images as fine-tuning sees them: its name and, per image, the description the
/// image was inverted from (which its caption uses).</summary>
public sealed record CaptionedConcept(string Name, IReadOnlyList<string> ImageDescriptions);

/// <summary>Knowledge Transfer's fine-tuning of a model on several concepts' inverted images at once, each image
/// captioned by <see cref="ConceptCaptions"/> with its own description, against negative captions; what
/// <c>molyneux learn</c> runs for each configuration and <c>molyneux finetune</c> runs once.</summary>
public static class ConceptFineTuning
{
    /// <summary>How many reference classes lend a negative caption by default: every step contrasts its pairs with
    /// all the negatives, and with the text tower trainable each one is encoded every step, so the 1 800 emoji classes
    /// would make a step ~7 times dearer than 256 of them for little more signal.</summary>
    public const int DefaultNegativeBank = 256;

    /// <summary>The negatives drawn from reference classes: the first prompt of each class, or of a seeded random
    /// <paramref name="bank"/> of them when there are more.</summary>
    public static IReadOnlyList<string> Negatives(ReferenceClasses reference, int bank = DefaultNegativeBank, int seed = 0)
    {
        var classes = Enumerable.Range(0, reference.Names.Count);
        if (reference.Names.Count > bank)
            classes = randperm(reference.Names.Count, generator: new Generator((ulong)seed + 211)).data<long>().Take(bank).Select(i => (int)i).Order();
        return classes.Select(c => reference.PromptsPerClass[c][0]).ToList();
    }

    /// <summary>Trains <paramref name="model"/> in place on <paramref name="images"/> [N, 3, S, S] in [0, 1] (or, with
    /// <paramref name="fromLayer"/>, the features partial inversion made), the concepts' images one concept after the other, and returns the loss of every step. In token mode each concept
    /// gets its own vocabulary row, trained on its own images only with "a {name}" captions; rows never interact, so
    /// concept by concept equals all at once. A resumable state (<see cref="FineTuneOptions.SaveStateEvery"/>,
    /// <paramref name="resumeFrom"/>) covers one run, so token mode resumes only with one concept. A captioner may
    /// replay ordinary captions beside (<paramref name="replay"/>).</summary>
    public static IReadOnlyList<double> Run(IVisionLanguageModel model, Tensor images, IReadOnlyList<CaptionedConcept> concepts, IReadOnlyList<string> negatives,
        FineTuneOptions options, CaptionMode caption, IProgress<FineTuneProgress>? progress = null, FineTuneState? resumeFrom = null, int? fromLayer = null,
        CaptionReplay? replay = null)
    {
        var token = options.Train == TrainMode.Token;
        if (token && concepts.Count > 1 && (options.SaveStateEvery > 0 || resumeFrom is not null))
            throw new OptionException("--train token fine-tunes one concept after the other, which cannot be saved part way: " +
                                      "resume it with the images of one concept at a time, or drop --save-every");
        var starts = concepts.Select(concept => concept.ImageDescriptions.Count).Prepend(0).ToList();
        for (var c = 1; c < starts.Count; c++) starts[c] += starts[c - 1];
        var groups = token
            ? concepts.Select((concept, index) => (Indices: (IReadOnlyList<int>)[index], Options: options with { TokenWord = concept.Name }))
            : [(Enumerable.Range(0, concepts.Count).ToList(), options)];
        var losses = new List<double>();
        foreach (var (indices, groupOptions) in groups)
        {
            using var scope = NewDisposeScope();
            var rows = indices.SelectMany(c => Enumerable.Range(starts[c], concepts[c].ImageDescriptions.Count)).Select(i => (long)i).ToArray();
            var captions = indices.SelectMany(c => concepts[c].ImageDescriptions.Select(description =>
                ConceptCaptions.Caption(concepts[c].Name, description, token ? CaptionMode.Name : caption))).ToList();
            var tuner = new FineTuner(groupOptions) { Progress = progress };
            losses.AddRange(tuner.Run(model, new FineTuneData(images.index_select(0, tensor(rows)), captions, negatives, FromLayer: fromLayer) { Replay = replay }, resumeFrom).Losses);
        }
        return losses;
    }
}
