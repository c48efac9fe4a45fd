using Molyneux.Asif;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Tokenization;
using Molyneux.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Worlds.Emoji;

/// <summary>Trains Molyneux's own text encoder for ASIF on text alone: a small causal transformer (CLIP's text tower
/// with a projection, random initialisation, a BPE vocabulary learnt from the same text) made to agree on two views
/// of one concept's words — a short one (its CLDR label, or a few of its keywords) and a caption as the pretraining
/// data writes it ("label: sampled tags; visual words" of one of its drawings) — against the other concepts of the
/// batch (InfoNCE). Only the pretraining concepts' text is read; no image and no CLIP weight is used.</summary>
public sealed class EmojiTextEncoderTrainer
{
    /// <summary>Small enough to train in minutes on two CPU cores: width 64, 4 layers, 32 positions, a 64-d output.</summary>
    public static ClipTextConfig Shape { get; } = new(HiddenSize: 64, IntermediateSize: 256, NumAttentionHeads: 2, NumHiddenLayers: 4,
        MaxPositionEmbeddings: 32);

    public const int ProjectionDim = 64;

    public const int VocabularySize = 4096;

    /// <summary>Keywords in a short view made of keywords.</summary>
    private const int KeywordsInShortView = 3;

    private readonly IReadOnlyList<IReadOnlyList<EmojiSample>> concepts;

    public EmojiTextEncoderTrainer(EmojiSplit split)
    {
        concepts = split.Pretrain.GroupBy(sample => sample.Concept.ShortName).Select(group => (IReadOnlyList<EmojiSample>)group.ToList()).ToList();
    }

    /// <summary>Every text the views are made of: the vocabulary is learnt on it.</summary>
    private IEnumerable<string> Corpus => concepts.SelectMany(samples => samples.Select(sample => sample.Caption).Append(samples[0].Concept.Label));

    /// <summary>Trains and writes a CLIPTextModelWithProjection folder into <paramref name="folder"/> (which exists).</summary>
    public void Train(string folder, EncoderTrainingOptions options, IProgress<EncoderTrainingProgress>? progress = null)
    {
        var tokenizer = BpeTrainer.Train(Corpus, VocabularySize);
        var config = Shape with
        {
            VocabSize = tokenizer.VocabularySize,
            BosTokenId = tokenizer.StartOfTextId,
            EosTokenId = tokenizer.EndOfTextId,
            PadTokenId = 0,
        };
        using var tower = ClipTower.Text(config, ProjectionDim);
        ClipInitialization.ApplyText((ClipTextTransformer)tower.Transformer, tower.Projection, options.Seed);
        var logitScale = tensor((float)Math.Log(1 / options.Temperature));
        var batch = Math.Min(options.BatchSize, concepts.Count);

        Tensor LossAt(int step)
        {
            var generator = new Generator((ulong)options.Seed * 1_000_003UL + (ulong)step);
            var chosen = randperm(concepts.Count, generator: generator)[..batch].data<long>().ToArray();
            // Per row: the short view's kind and start, the drawing, then what a caption draws.
            var width = 3 + EmojiPretrainingData.MaxTagsPerCaption + 1;
            var draws = rand([batch, width], generator: generator).data<float>().ToArray();
            var shortViews = new List<string>();
            var captions = new List<string>();
            for (var row = 0; row < batch; row++)
            {
                var samples = concepts[(int)chosen[row]];
                var rowDraws = draws.AsSpan(row * width, width);
                shortViews.Add(ShortView(samples[0].Concept, rowDraws[0], rowDraws[1]));
                var sample = samples[Math.Min(samples.Count - 1, (int)(rowDraws[2] * samples.Count))];
                captions.Add(EmojiPretrainingData.Caption(sample, rowDraws[3..]));
            }
            var first = tower.forward(tokenizer.TokenizeBatch(shortViews, config.MaxPositionEmbeddings));
            var second = tower.forward(tokenizer.TokenizeBatch(captions, config.MaxPositionEmbeddings));
            return ContrastiveLoss.Compute(first, second, logitScale);
        }

        EncoderTraining.Run(tower, options, LossAt, "text", progress);
        ClipTextEncoder.Save(tower, tokenizer, folder);
    }

    /// <summary>The label (what prompts say) half of the time, else up to three keywords from a rotating start, so
    /// the encoder also learns what the keywords of a concept have in common.</summary>
    private static string ShortView(EmojiConcept concept, float kind, float start)
    {
        if (kind < 0.5f || concept.Tags.Count == 0) return concept.Label;
        var first = Math.Min(concept.Tags.Count - 1, (int)(start * concept.Tags.Count));
        return string.Join(", ", Enumerable.Range(0, Math.Min(KeywordsInShortView, concept.Tags.Count))
            .Select(offset => concept.Tags[(first + offset) % concept.Tags.Count]));
    }
}
