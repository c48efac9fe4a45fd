using Molyneux.Checkpoints;
using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Asif;

/// <summary>A Hugging Face BertModel folder (config.json, model.safetensors, vocab.txt, optional
/// tokenizer_config.json) as a sentence encoder: a text's embedding is the mean of its tokens' final states, padding
/// excluded (sentence-transformers' mean pooling).</summary>
public sealed class BertTextEncoder(BertModel model, BertWordPieceTokenizer tokenizer, ComputeDevice device, string identity)
    : FolderEncoder<BertModel>(model, device, identity), ITextEncoder
{
    public BertWordPieceTokenizer Tokenizer { get; } = tokenizer;

    public int EmbeddingSize => Model.Config.HiddenSize;

    public int BatchSize { get; init; } = 64;

    /// <summary>Tokens per text, [CLS] and [SEP] included; longer texts are cut. The model's position limit unless
    /// the encoder's origin truncates earlier or later.</summary>
    public int MaxLength { get; init; } = model.Config.MaxPositionEmbeddings;

    public static BertTextEncoder Load(string folder, ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var config = BertConfig.FromFile(Path.Combine(folder, HfConfigFile.FileName));
        var tokenizer = BertWordPieceTokenizer.FromFolder(folder);
        if (tokenizer.VocabularySize > config.VocabSize)
            throw new TokenizerException($"{folder}: {BertWordPieceTokenizer.VocabFile} has {tokenizer.VocabularySize} tokens, more than the model's vocab_size {config.VocabSize}");
        var model = new BertModel(config);
        var identity = EncoderFolder.LoadWeights(model, folder, BertNaming.HuggingFaceName, BertNaming.IsIgnorable, device);
        return new BertTextEncoder(model, tokenizer, device, identity);
    }

    /// <summary>Writes the files of a HF BertModel folder into an existing folder.</summary>
    public static void Save(BertModel model, BertWordPieceTokenizer tokenizer, string folder)
    {
        model.Config.Save(Path.Combine(folder, HfConfigFile.FileName));
        ModuleWeights.Save(model, Path.Combine(folder, EncoderFolder.WeightsFile), BertNaming.HuggingFaceName);
        tokenizer.Save(folder);
    }

    public Tensor EncodeTexts(IReadOnlyList<string> texts, IProgress<int>? progress = null) =>
        BatchedInference.Run(texts, BatchSize, EmbeddingSize, progress, batch =>
        {
            var (ids, mask) = Tokenizer.TokenizeBatch(batch, MaxLength);
            return Model.MeanPool(ids.to(Device.Device), mask.to(Device.Device));
        });

    /// <summary>The sentence embeddings as sentence-transformers returns them with its Normalize module: the mean
    /// pooling of <see cref="EncodeTexts"/>, L2-normalised, CPU float32 [N, EmbeddingSize].</summary>
    public Tensor EncodeSentences(IReadOnlyList<string> texts, IProgress<int>? progress = null)
    {
        using var pooled = EncodeTexts(texts, progress);
        return Evaluation.Cosine.Normalize(pooled);
    }
}
