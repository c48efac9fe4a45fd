using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>A concept to teach: its name, its description(s), and real images of it (in [0,1], at the model's size)
/// on which to measure whether it was learnt. The real images are never trained on. The inverted images are dealt
/// out over the descriptions (<see cref="DescribedConcept.OfImage"/>), each captioned with its own, and classification
/// by description averages their text embeddings.</summary>
/// <param name="ImageSources">Where each real image came from (a file, or a generated scene's name), in the order of
/// <paramref name="RealImages"/>, so a report can say which images served which role; null: unnamed.</param>
/// <param name="Name">The concept's name, the word the name prompts use.</param>
/// <param name="Descriptions">What the concept looks like, in words: images are inverted from these.</param>
/// <param name="RealImages">[n, 3, S, S] real images of the concept in [0, 1], at the model's size; measured on, never trained on.</param>
public sealed record TeachableConcept(string Name, IReadOnlyList<string> Descriptions, Tensor RealImages, IReadOnlyList<string>? ImageSources = null);

/// <summary>What the model already knows, to measure forgetting and to serve as distractors: real images with
/// labels, and each class's prompts.</summary>
/// <param name="PromptsPerClass">Each class's prompts as distractors beside the concepts and as negative captions.</param>
/// <param name="ForgettingPrompts">Each class's prompts for the reference top-1 (forgetting), when they differ: a
/// template ensemble, as <c>eval classify --templates</c> prompts (<see cref="WithForgettingTemplates"/>); null: the
/// distractor prompts.</param>
/// <param name="ForgettingTemplates">The name of the template set <see cref="ForgettingPrompts"/> came from, for the report.</param>
/// <param name="Names">The classes' names.</param>
/// <param name="Images">[n, 3, S, S] the reference images in [0, 1], at the model's size.</param>
/// <param name="Labels">Each image's class, an index into <paramref name="Names"/>.</param>
/// <param name="Captions">Reference captions of each image (several, as COCO has five), with which a captioner's
/// forgetting is measured as CIDEr-D; null: the images have none.</param>
public sealed record ReferenceClasses(IReadOnlyList<string> Names, IReadOnlyList<IReadOnlyList<string>> PromptsPerClass, Tensor Images, IReadOnlyList<int> Labels,
    IReadOnlyList<IReadOnlyList<string>>? ForgettingPrompts = null, string? ForgettingTemplates = null, IReadOnlyList<IReadOnlyList<string>>? Captions = null)
{
    /// <summary>The prompts the reference top-1 is measured with.</summary>
    public IReadOnlyList<IReadOnlyList<string>> ReferencePrompts => ForgettingPrompts ?? PromptsPerClass;

    /// <summary>These classes with forgetting measured on every class by the mean of the templates' text features.</summary>
    public ReferenceClasses WithForgettingTemplates(Evaluation.PromptTemplates templates) => this with { ForgettingPrompts = templates.PromptsFor(Names), ForgettingTemplates = templates.Name };
}
