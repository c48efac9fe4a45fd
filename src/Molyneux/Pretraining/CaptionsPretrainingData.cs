using Molyneux.Evaluation;
using Molyneux.Imaging;
using Molyneux.Runtime;
using Molyneux.Training;
using static TorchSharp.torch;

namespace Molyneux.Pretraining;

/// <summary>A user's captions file (the retrieval JSONL format) as pretraining data: each image resized and centre
/// cropped to the model's size, one of its captions drawn per step. It has no held-out probe.</summary>
public sealed class CaptionsPretrainingData : IPretrainingData
{
    private readonly CaptionsDataset dataset;
    private readonly Tensor images;

    public CaptionsPretrainingData(CaptionsDataset dataset, int imageSize)
    {
        this.dataset = dataset;
        var processor = new ClipImageProcessor(shortestEdge: imageSize, cropHeight: imageSize, cropWidth: imageSize, doNormalize: false);
        images = processor.PreprocessFiles(dataset.Images.Select(image => image.ImagePath).ToList()).Times(255).round().to(ScalarType.Byte);
        ImageSize = imageSize;
        Description = $"captions file {dataset.Location}: {dataset.Images.Count} images, {dataset.Captions.Count} captions";
    }

    public string Description { get; }

    public int Count => dataset.Images.Count;

    public int ImageSize { get; }

    public IReadOnlyList<ZeroShotProbe> Probes => [];

    /// <summary>Light, since a user's captions may name positions.</summary>
    public RandomAffineOptions Augmentation => IPretrainingData.LightAugmentation;

    public IEnumerable<string> VocabularyCorpus => dataset.Captions;

    public (Tensor Images, IReadOnlyList<string> Captions) Batch(IReadOnlyList<int> indices, Generator generator)
    {
        var draws = rand(indices.Count, generator: generator).data<float>().ToArray();
        var captions = indices.Select((index, row) =>
        {
            var choices = dataset.Images[index].Captions;
            return choices[Math.Min(choices.Count - 1, (int)(draws[row] * choices.Count))];
        }).ToList();
        return (images.index_select(0, tensor(indices.Select(i => (long)i).ToArray())).to(ScalarType.Float32).Over(255), captions);
    }
}
