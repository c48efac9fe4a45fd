using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>A concept to teach: its name, its description(s), and real images of it (in [0,1], at the model's size)
/// on which to measure whether it was learnt. The real images are never trained on. The inverted images are dealt
/// out over the descriptions (<see cref="DescribedConcept.OfImage"/>), each captioned with its own, and classification
/// by description averages their text embeddings.</summary>
/// <param name="ImageSources">Where each real image came from (a file, or a generated scene's name), in the order of
/// <paramref name="RealImages"/>, so a report can say which images served which role; null: unnamed.</param>
public sealed record TeachableConcept(string Name, IReadOnlyList<string> Descriptions, Tensor RealImages, IReadOnlyList<string>? ImageSources = null);

/// <summary>What the model already knows, to measure forgetting and to serve as distractors: real images with
/// labels, and each class's prompts.</summary>
public sealed record ReferenceClasses(IReadOnlyList<string> Names, IReadOnlyList<IReadOnlyList<string>> PromptsPerClass, Tensor Images, IReadOnlyList<int> Labels);
