namespace Molyneux.Evaluation;

/// <summary>One image of a classification dataset: its file and the index of its class in
/// <see cref="ILabeledImageDataset.ClassNames"/>.</summary>
public sealed record LabeledImage(string Path, int ClassIndex);

/// <summary>What zero-shot classification needs from a dataset: the class names that become prompts and the labelled
/// images. An image folder is one implementation; generated worlds (an emoji world's splits) can be others.</summary>
public interface ILabeledImageDataset
{
    /// <summary>Where the dataset came from (a folder or a file), as reported in evaluation reports.</summary>
    string Location { get; }

    /// <summary>Display names, one per class; they are put into the prompt templates, so they must be distinct.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The images in a deterministic order (the order of the predictions and of the embedding cache).</summary>
    IReadOnlyList<LabeledImage> Images { get; }
}
