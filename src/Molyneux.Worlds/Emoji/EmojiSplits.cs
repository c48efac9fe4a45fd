using System.Text.RegularExpressions;
using Molyneux.KnowledgeTransfer;

namespace Molyneux.Worlds.Emoji;

/// <summary>One drawing and its caption, ready for training or evaluation.</summary>
public sealed record EmojiSample(EmojiConcept Concept, string Style, string ImagePath, string Caption);

/// <summary>What is held out. Defaults follow the Knowledge Transfer reference: pretrain on three styles, test
/// style generalization on Twitter's, and withhold <see cref="EmojiSplits.DefaultHeldOutConcepts"/>. OpenMoji
/// is left out of the defaults because its black outlines set it apart from the vendor styles (add it to either
/// list to use it).</summary>
public sealed record EmojiSplitOptions
{
    public IReadOnlyList<string> PretrainStyles { get; init; } = ["google", "apple", "facebook"];

    public IReadOnlyList<string> HeldOutStyles { get; init; } = ["twitter"];

    /// <summary>Concepts withheld from pretraining, to be taught later from their descriptions alone; each one's
    /// <c>images</c> names the emoji (<c>emoji:SHORT_NAME</c>) whose drawings are withheld and later test whether it
    /// was learnt.</summary>
    public IReadOnlyList<DescribedConcept> HeldOutConcepts { get; init; } = EmojiSplits.DefaultHeldOutConcepts;

    /// <summary>The split to choose settings on: the last pretraining style (Facebook by default) is held out in place
    /// of the test style, which this split never loads, so a choice made on it has not seen the reported style.</summary>
    public EmojiSplitOptions ForValidation() =>
        PretrainStyles.Count >= 2
            ? this with { PretrainStyles = PretrainStyles.SkipLast(1).ToList(), HeldOutStyles = [PretrainStyles[^1]] }
            : throw new OptionException("a validation split needs at least two pretraining styles (one is held out)");
}

/// <summary>The emoji data set cut two ways at once. By style: the concepts the model pretrains on are tested
/// in a style it never saw. By concept: the held-out concepts appear in no pretraining image or caption, in any
/// style, so that what the model later knows of them comes from their descriptions.</summary>
public sealed partial class EmojiSplit
{
    public EmojiSplitOptions Options { get; }

    /// <summary>Every concept except the held-out ones, in the pretraining styles.</summary>
    public IReadOnlyList<EmojiSample> Pretrain { get; }

    /// <summary>The same concepts in the held-out styles: does recognition carry over to a new designer?</summary>
    public IReadOnlyList<EmojiSample> StyleTest { get; }

    /// <summary>The held-out concepts in every style of the split: did the descriptions teach them?</summary>
    public IReadOnlyList<EmojiSample> ConceptTest { get; }

    /// <summary>Every word of the pretraining captions, lower case.</summary>
    public IReadOnlySet<string> PretrainVocabulary { get; }

    internal EmojiSplit(EmojiSplitOptions options, IReadOnlyList<EmojiSample> pretrain, IReadOnlyList<EmojiSample> styleTest, IReadOnlyList<EmojiSample> conceptTest)
    {
        Options = options;
        Pretrain = pretrain;
        StyleTest = styleTest;
        ConceptTest = conceptTest;
        PretrainVocabulary = pretrain.SelectMany(sample => Words(sample.Caption)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The words of a description that no pretraining caption contains (function words aside; a plural
    /// counts as seen when its singular was). A description is only useful to a model in words it has learnt, so
    /// these should be empty.</summary>
    public IReadOnlyList<string> UnseenWords(string description) =>
        Words(description)
            .Where(word => !FunctionWords.Contains(word))
            .Where(word => !PretrainVocabulary.Contains(word) && !(word.EndsWith('s') && PretrainVocabulary.Contains(word[..^1])))
            .Distinct()
            .ToArray();

    internal static IEnumerable<string> Words(string text) =>
        WordPattern().Matches(text.ToLowerInvariant()).Select(match => match.Value);

    private static readonly HashSet<string> FunctionWords = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "and", "or", "but", "of", "with", "on", "in", "into", "its", "it", "to", "that", "this",
        "from", "at", "by", "for", "as", "is", "are", "be", "has", "have", "which", "who", "can", "cannot", "not", "no",
    };

    [GeneratedRegex("[a-z]+")]
    private static partial Regex WordPattern();
}

/// <summary>Makes <see cref="EmojiSplit"/>s.</summary>
public static class EmojiSplits
{
    private const string DefaultConceptsResource = "Molyneux.Emoji.held-out-concepts.json";

    /// <summary>Twenty concepts with a distinctive look (animals, fruit, vegetables, a rocket), each described by
    /// colour and parts in words that the pretraining captions contain, and never by its own name.</summary>
    public static IReadOnlyList<DescribedConcept> DefaultHeldOutConcepts => LazyDefaults.Value;

    private static readonly Lazy<IReadOnlyList<DescribedConcept>> LazyDefaults = new(() =>
    {
        using var stream = typeof(EmojiSplits).Assembly.GetManifestResourceStream(DefaultConceptsResource)
            ?? throw new InvalidOperationException($"resource {DefaultConceptsResource} missing from the assembly");
        return ConceptsFile.Read(stream, DefaultConceptsResource);
    });

    public static EmojiSplit Split(EmojiManifest manifest, EmojiSplitOptions? options = null)
    {
        options ??= new EmojiSplitOptions();
        CheckStyles(manifest, options);
        var heldOut = options.HeldOutConcepts.Select(concept => Resolve(manifest, concept).ShortName).ToHashSet(StringComparer.Ordinal);
        var testedStyles = options.PretrainStyles.Concat(options.HeldOutStyles).ToArray();

        List<EmojiSample> Samples(IEnumerable<EmojiConcept> concepts, IReadOnlyList<string> styles) =>
            concepts.SelectMany(concept => styles
                    .Where(concept.Images.ContainsKey)
                    .Select(style => new EmojiSample(concept, style, manifest.ImagePath(concept.Images[style]), concept.Images[style].Caption)))
                .ToList();

        var seen = manifest.Concepts.Where(concept => !heldOut.Contains(concept.ShortName)).ToArray();
        return new EmojiSplit(options,
            Samples(seen, options.PretrainStyles),
            Samples(seen, options.HeldOutStyles),
            Samples(manifest.Concepts.Where(concept => heldOut.Contains(concept.ShortName)), testedStyles));
    }

    private static void CheckStyles(EmojiManifest manifest, EmojiSplitOptions options)
    {
        if (options.PretrainStyles.Count == 0) throw new OptionException("no pretraining style given");
        foreach (var style in options.PretrainStyles.Concat(options.HeldOutStyles))
            if (!manifest.Styles.Contains(style))
                throw new OptionException($"style '{style}' is not in the emoji data (styles: {string.Join(", ", manifest.Styles)})");
        var both = options.PretrainStyles.Intersect(options.HeldOutStyles).ToArray();
        if (both.Length > 0)
            throw new OptionException($"style {string.Join(", ", both)} is both pretrained on and held out");
    }

    private static EmojiConcept Resolve(EmojiManifest manifest, DescribedConcept concept)
    {
        if (concept.Images is not { } images || !images.StartsWith(ConceptsFile.EmojiPrefix, StringComparison.Ordinal))
            throw new DatasetException($"held-out concept '{concept.Name}': images '{concept.Images}' is not an {ConceptsFile.EmojiPrefix}SHORT_NAME reference");
        return manifest.Find(images[ConceptsFile.EmojiPrefix.Length..]);
    }
}
