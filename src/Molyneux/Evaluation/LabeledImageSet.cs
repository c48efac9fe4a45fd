namespace Molyneux.Evaluation;

/// <summary>A classification dataset read from a file format (a Hugging Face metadata file, CLIP_benchmark's
/// webdataset shards) rather than from class folders: the class names, the labelled images in the order the format
/// lists them, and the prompt templates that ship with it, if any.</summary>
public sealed class LabeledImageSet : ILabeledImageDataset
{
    public LabeledImageSet(string location, IReadOnlyList<string> classNames, IReadOnlyList<LabeledImage> images, string? templatesFile = null)
    {
        Location = location;
        ClassNames = classNames;
        Images = images;
        TemplatesFile = templatesFile;
    }

    public string Location { get; }

    public IReadOnlyList<string> ClassNames { get; }

    public IReadOnlyList<LabeledImage> Images { get; }

    /// <summary>The dataset's own prompt templates (CLIP_benchmark's <c>zeroshot_classification_templates.txt</c>), a
    /// file <see cref="PromptTemplates.Load"/> reads; null when the dataset has none.</summary>
    public string? TemplatesFile { get; }
}
