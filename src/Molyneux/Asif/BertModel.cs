using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Asif;

// Hugging Face's BertModel (modeling_bert.py) for sentence embeddings. Its layers are post-norm, x = LN(x + attn(x)),
// then x = LN(x + mlp(x)), so CLIP's pre-norm block does not fit; its attention and MLP do (q/k/v and output
// projections with biases; dense, exact GELU, dense), and BertNaming translates their names. The attention mask
// keeps padding out of every softmax, so a text's states do not depend on how much its batch was padded.

public sealed class BertEmbeddings : Module<Tensor, Tensor>
{
    public readonly Embedding word_embeddings;
    public readonly Embedding position_embeddings;
    public readonly Embedding token_type_embeddings;
    public readonly LayerNorm LayerNorm;

    public BertEmbeddings(BertConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = Embedding(config.VocabSize, config.HiddenSize);
        position_embeddings = Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>One sentence per row, so every token has type 0.</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var length = (int)inputIds.shape[1];
        var sum = word_embeddings.forward(inputIds).Plus(position_embeddings.weight![..length]).Plus(token_type_embeddings.weight![0]);
        return LayerNorm.forward(sum).MoveToOuterDisposeScope();
    }
}

public sealed class BertLayer : Module<Tensor, Tensor, Tensor>
{
    public readonly ClipAttention self_attn;
    public readonly LayerNorm attention_norm;
    public readonly ClipMlp mlp;
    public readonly LayerNorm output_norm;

    public BertLayer(BertConfig config) : base(nameof(BertLayer))
    {
        self_attn = new ClipAttention(config.HiddenSize, config.NumAttentionHeads);
        attention_norm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        mlp = new ClipMlp(config.HiddenSize, config.IntermediateSize, "gelu");
        output_norm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <param name="hiddenStates">[batch, length, hidden] the token states that enter the layer.</param>
    /// <param name="keyMask">bool [batch, length], false at padding.</param>
    public override Tensor forward(Tensor hiddenStates, Tensor keyMask)
    {
        using var scope = NewDisposeScope();
        var attended = attention_norm.forward(hiddenStates.Plus(self_attn.Forward(hiddenStates, causal: false, keyMask)));
        return output_norm.forward(attended.Plus(mlp.forward(attended))).MoveToOuterDisposeScope();
    }
}

public sealed class BertEncoder : Module<Tensor, Tensor, Tensor>
{
    public readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig config) : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, Tensor keyMask)
    {
        using var scope = NewDisposeScope();
        var x = hiddenStates;
        foreach (var block in layer) x = block.forward(x, keyMask);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>BERT's encoder; <see cref="MeanPool"/> averages the states of the real (unpadded) tokens, as sentence
/// encoders (sentence-transformers) embed a text; as a dual encoder's text tower it pools that way too (HF's class
/// would take BERT's pooler; the dual encoder's config records <c>text_pooling: mean</c>).</summary>
public sealed class BertModel : Module<Tensor, Tensor, Tensor>, ITextTower
{
    public readonly BertEmbeddings embeddings;
    public readonly BertEncoder encoder;

    public BertModel(BertConfig config) : base(nameof(BertModel))
    {
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        RegisterComponents();
    }

    public BertConfig Config { get; }

    nn.Module ITextTower.Module => this;

    public int FeatureWidth => Config.HiddenSize;

    public string Description => $"BERT, width {Config.HiddenSize}, {Config.NumHiddenLayers} layers, {Config.NumAttentionHeads} heads, mean pooling";

    public string HuggingFaceName(string moduleName) => BertNaming.HuggingFaceName(moduleName);

    public bool IsIgnorable(string fileName) => BertNaming.IsIgnorable(fileName);

    /// <summary>Mean pooling over the tokens that are not padding.</summary>
    public Tensor Pool(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return MeanPool(inputIds, inputIds.EqualTo(Config.PadTokenId).logical_not()).MoveToOuterDisposeScope();
    }

    /// <summary>HF's last_hidden_state [batch, length, hidden] for int64 ids and a bool mask (true = real token).</summary>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        return encoder.forward(embeddings.forward(inputIds), attentionMask).MoveToOuterDisposeScope();
    }

    /// <summary>Mean of the last hidden states over the real tokens, [batch, hidden].</summary>
    public Tensor MeanPool(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var weights = attentionMask.unsqueeze(-1).to(embeddings.word_embeddings.weight!.dtype);
        var summed = (forward(inputIds, attentionMask) * weights).sum(1);
        return (summed / weights.sum(1).clamp_min(LiveScalars.One)).MoveToOuterDisposeScope();
    }
}

/// <summary>Module names → Hugging Face BertModel names.</summary>
public static class BertNaming
{
    private static readonly ParameterRenaming Renaming = new(
    [
        (".self_attn.q_proj.", ".attention.self.query."),
        (".self_attn.k_proj.", ".attention.self.key."),
        (".self_attn.v_proj.", ".attention.self.value."),
        (".self_attn.out_proj.", ".attention.output.dense."),
        (".attention_norm.", ".attention.output.LayerNorm."),
        (".mlp.fc1.", ".intermediate.dense."),
        (".mlp.fc2.", ".output.dense."),
        (".output_norm.", ".output.LayerNorm."),
    ]);

    public static string HuggingFaceName(string moduleName) => Renaming.CheckpointName(moduleName);

    /// <summary>The pooler (dense + tanh over [CLS], trained for next-sentence prediction) is not used by mean
    /// pooling; position_ids are a buffer older exports store.</summary>
    public static bool IsIgnorable(string fileName) =>
        fileName.StartsWith("pooler.", StringComparison.Ordinal) || EncoderFolder.IsPositionIds(fileName);
}
