using Molyneux.Asif;
using Molyneux.Imaging;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Worlds.Emoji;

/// <summary>Trains Molyneux's own image encoder for ASIF on images alone: a small ViT (CLIP's vision tower with a
/// projection, random initialisation) on the pretraining styles' drawings, made invariant to the designer. Two
/// vendors' drawings of one emoji, each randomly warped, are a positive pair among the batch's other emoji (InfoNCE,
/// as SimCLR with the designer as the augmentation), so the encoder learns what an emoji looks like whoever draws it.
/// The only annotation used is which drawings show the same emoji; no caption, label text or CLIP weight is. (A
/// Unicode-subgroup classification head on top was tried and lowered cross-style retrieval, 21 % against 24 % after
/// two minutes, so it is not used.)</summary>
public sealed class EmojiImageEncoderTrainer
{
    /// <summary>Small enough to train in minutes on two CPU cores: the drawings at 32 px in 8 px patches (16 tokens
    /// and the class token), width 128, 4 layers, a 128-d output.</summary>
    public static ClipVisionConfig Shape { get; } = new(HiddenSize: 128, IntermediateSize: 512, NumAttentionHeads: 4, NumHiddenLayers: 4,
        ImageSize: 32, PatchSize: 8);

    public const int ProjectionDim = 128;

    private readonly Tensor images;
    // The rows of images of each emoji drawn in at least two styles.
    private readonly IReadOnlyList<long[]> drawings;
    private readonly RandomAffine augmentation = new(new RandomAffineOptions
    {
        MaxRotationDegrees = 5, MaxTranslation = 0.05, MinScale = 0.9, MaxScale = 1.05, Probability = 1,
    });

    public EmojiImageEncoderTrainer(EmojiSplit split)
    {
        var samples = split.Pretrain;
        // Resized once as inference will (CLIP's preprocessing at the encoder's size), normalized per step after augmentation.
        var resize = new ClipImageProcessor(shortestEdge: Shape.ImageSize, cropHeight: Shape.ImageSize, cropWidth: Shape.ImageSize, doNormalize: false);
        images = resize.PreprocessFiles(samples.Select(sample => sample.ImagePath).ToList());
        drawings = samples.Select((sample, row) => (sample.Concept.ShortName, Row: (long)row)).GroupBy(entry => entry.ShortName)
            .Select(group => group.Select(entry => entry.Row).ToArray()).Where(rows => rows.Length >= 2).ToList();
    }

    /// <summary>Trains and writes a CLIPVisionModelWithProjection folder into <paramref name="folder"/> (which exists).</summary>
    public void Train(string folder, EncoderTrainingOptions options, IProgress<EncoderTrainingProgress>? progress = null)
    {
        using var tower = ClipTower.Vision(Shape, ProjectionDim);
        ClipInitialization.ApplyVision((ClipVisionTransformer)tower.Transformer, tower.Projection, options.Seed);
        var processor = ClipImageProcessor.Default(Shape.ImageSize);
        var logitScale = tensor((float)Math.Log(1 / options.Temperature));
        var batch = Math.Min(options.BatchSize, drawings.Count);

        Tensor LossAt(int step)
        {
            var generator = new Generator((ulong)options.Seed * 1_000_003UL + (ulong)step);
            var emoji = randperm(drawings.Count, generator: generator)[..batch].data<long>().ToArray();
            var draws = rand([batch, 2], generator: generator).data<float>().ToArray();
            // Two different drawings of each emoji: a random one, then a random one of the others.
            var (firstRows, secondRows) = (new long[batch], new long[batch]);
            for (var i = 0; i < batch; i++)
            {
                var rows = drawings[(int)emoji[i]];
                var first = Math.Min(rows.Length - 1, (int)(draws[2 * i] * rows.Length));
                var second = (first + 1 + Math.Min(rows.Length - 2, (int)(draws[2 * i + 1] * (rows.Length - 1)))) % rows.Length;
                (firstRows[i], secondRows[i]) = (rows[first], rows[second]);
            }
            Tensor Embed(long[] rows) => tower.forward(processor.Normalize(augmentation.Apply(images.index_select(0, tensor(rows)), generator)));
            return ContrastiveLoss.Compute(Embed(firstRows), Embed(secondRows), logitScale);
        }

        EncoderTraining.Run(tower, options, LossAt, "image", progress);
        ClipVisionEncoder.Save(tower, processor, folder);
    }
}
