using Molyneux.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Modeling;

// CLIP (Radford et al., 2021) as in Hugging Face's modeling_clip.py: the fields below carry HF's module names
// (snake_case on purpose), so a HF state dict maps onto this model one to one.
//
// The linear projections of attention and MLP blocks and the token embedding run through call() rather than
// forward(), so forward hooks registered on them take effect: Knowledge Transfer's LoRA adapters and concept token
// attach that way, leaving the modules, and so the parameter names, those of HF.

/// <summary>Multi-head self-attention with separate q/k/v projections, computed by libtorch's fused kernel.</summary>
public sealed class ClipAttention : Module<Tensor, bool, Tensor>
{
    private readonly Linear q_proj, k_proj, v_proj, out_proj;
    private readonly int numHeads;

    public ClipAttention(int hiddenSize, int numHeads) : base(nameof(ClipAttention))
    {
        this.numHeads = numHeads;
        q_proj = Linear(hiddenSize, hiddenSize);
        k_proj = Linear(hiddenSize, hiddenSize);
        v_proj = Linear(hiddenSize, hiddenSize);
        out_proj = Linear(hiddenSize, hiddenSize);
        RegisterComponents();
    }

    /// <param name="hiddenStates">[batch, sequence, hidden]</param>
    /// <param name="causal">The text tower lets position i see only positions 0..i; the image tower sees all.</param>
    public override Tensor forward(Tensor hiddenStates, bool causal) => Forward(hiddenStates, causal, keyMask: null);

    /// <param name="keyMask">bool [batch, sequence], false at positions no query may attend to (padding, as BERT's
    /// attention_mask); null lets every position be seen.</param>
    /// <param name="hiddenStates">[batch, sequence, width] the token states to attend over.</param>
    /// <param name="causal">Whether a position may see only itself and earlier ones (CLIP's text tower).</param>
    public Tensor Forward(Tensor hiddenStates, bool causal, Tensor? keyMask)
    {
        using var scope = NewDisposeScope();
        var (batch, length, width) = (hiddenStates.shape[0], hiddenStates.shape[1], hiddenStates.shape[2]);
        Tensor SplitHeads(Tensor x) => x.view(batch, length, numHeads, width / numHeads).transpose(1, 2);
        var attended = functional.scaled_dot_product_attention(
            SplitHeads(q_proj.call(hiddenStates)),
            SplitHeads(k_proj.call(hiddenStates)),
            SplitHeads(v_proj.call(hiddenStates)),
            attn_mask: keyMask?.view(batch, 1, 1, length),
            is_casual: causal);
        return out_proj.call(attended.transpose(1, 2).reshape(batch, length, width)).MoveToOuterDisposeScope();
    }
}

/// <summary>The two-layer feed-forward block; CLIP's OpenAI models use quick_gelu, x·σ(1.702x).</summary>
public sealed class ClipMlp : Module<Tensor, Tensor>
{
    public readonly Linear fc1, fc2;
    private readonly bool quickGelu;

    public ClipMlp(int hiddenSize, int intermediateSize, string activation) : base(nameof(ClipMlp))
    {
        quickGelu = activation == "quick_gelu";
        fc1 = Linear(hiddenSize, intermediateSize);
        fc2 = Linear(intermediateSize, hiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        return fc2.call(Activation(fc1.call(hiddenStates))).MoveToOuterDisposeScope();
    }

    public Tensor Activation(Tensor x) => GeluActivation.Apply(x, quickGelu);
}

/// <summary>A pre-norm residual block: x + attn(ln1(x)), then x + mlp(ln2(x)).</summary>
public sealed class ClipEncoderLayer : Module<Tensor, bool, Tensor>
{
    public readonly ClipAttention self_attn;
    public readonly LayerNorm layer_norm1;
    public readonly ClipMlp mlp;
    public readonly LayerNorm layer_norm2;

    public ClipEncoderLayer(int hiddenSize, int intermediateSize, int numHeads, string activation, double layerNormEps)
        : base(nameof(ClipEncoderLayer))
    {
        self_attn = new ClipAttention(hiddenSize, numHeads);
        layer_norm1 = LayerNorm(hiddenSize, layerNormEps);
        mlp = new ClipMlp(hiddenSize, intermediateSize, activation);
        layer_norm2 = LayerNorm(hiddenSize, layerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, bool causal)
    {
        using var scope = NewDisposeScope();
        var afterAttention = hiddenStates.Plus(self_attn.forward(layer_norm1.forward(hiddenStates), causal));
        return afterAttention.Plus(mlp.forward(layer_norm2.forward(afterAttention))).MoveToOuterDisposeScope();
    }
}

/// <summary>A stack of residual blocks. <see cref="Forward"/> can start at a given layer, which partial inversion
/// and fine-tuning of the top layers need.</summary>
public sealed class ClipEncoder : Module<Tensor, bool, Tensor>
{
    public readonly ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(int hiddenSize, int intermediateSize, int numHeads, int numLayers, string activation, double layerNormEps)
        : base(nameof(ClipEncoder))
    {
        layers = new ModuleList<ClipEncoderLayer>(Enumerable.Range(0, numLayers)
            .Select(_ => new ClipEncoderLayer(hiddenSize, intermediateSize, numHeads, activation, layerNormEps)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, bool causal) => Forward(hiddenStates, causal, fromLayer: 0);

    /// <summary>Layers <paramref name="fromLayer"/> up to <paramref name="toLayer"/> (exclusive; null: the last).</summary>
    public Tensor Forward(Tensor hiddenStates, bool causal, int fromLayer, int? toLayer = null)
    {
        using var scope = NewDisposeScope();
        var x = hiddenStates;
        for (var i = fromLayer; i < (toLayer ?? layers.Count); i++) x = layers[i].forward(x, causal);
        return (ReferenceEquals(x, hiddenStates) ? x.alias() : x).MoveToOuterDisposeScope();
    }
}

public sealed class ClipTextEmbeddings : Module<Tensor, Tensor>
{
    public readonly Embedding token_embedding;
    public readonly Embedding position_embedding;

    public ClipTextEmbeddings(ClipTextConfig config) : base(nameof(ClipTextEmbeddings))
    {
        token_embedding = Embedding(config.VocabSize, config.HiddenSize);
        position_embedding = Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        RegisterComponents();
    }

    /// <param name="inputIds">int64 [batch, length], length ≤ max_position_embeddings</param>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var length = inputIds.shape[1];
        return token_embedding.call(inputIds).Plus(position_embedding.weight![..(int)length]).MoveToOuterDisposeScope();
    }
}

/// <summary>The causal text transformer; pooled output = final-norm state at the end-of-text position.</summary>
public sealed class ClipTextTransformer : Module<Tensor, (Tensor LastHiddenState, Tensor Pooled)>
{
    public readonly ClipTextEmbeddings embeddings;
    public readonly ClipEncoder encoder;
    public readonly LayerNorm final_layer_norm;

    public ClipTextTransformer(ClipTextConfig config) : base(nameof(ClipTextTransformer))
    {
        Config = config;
        embeddings = new ClipTextEmbeddings(config);
        encoder = new ClipEncoder(config.HiddenSize, config.IntermediateSize, config.NumAttentionHeads,
            config.NumHiddenLayers, config.HiddenAct, config.LayerNormEps);
        final_layer_norm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public ClipTextConfig Config { get; internal set; }

    public override (Tensor LastHiddenState, Tensor Pooled) forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var lastHiddenState = final_layer_norm.forward(encoder.forward(embeddings.forward(inputIds), true));
        var pooled = lastHiddenState[LiveScalars.Range(inputIds.shape[0], inputIds.device), EndOfTextPositions(inputIds)];
        return (lastHiddenState.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope());
    }

    /// <summary>Argmax of the ids (the first one on ties) in the legacy config, else the first end-of-text id.</summary>
    public Tensor EndOfTextPositions(Tensor inputIds) =>
        Config.PoolsAtArgmax ? inputIds.argmax(-1) : inputIds.EqualTo(Config.EosTokenId).to(ScalarType.Int32).argmax(-1);
}

public sealed class ClipVisionEmbeddings : Module<Tensor, Tensor>
{
    public readonly Parameter class_embedding;
    public readonly Conv2d patch_embedding;
    public readonly Embedding position_embedding;

    public ClipVisionEmbeddings(ClipVisionConfig config) : base(nameof(ClipVisionEmbeddings))
    {
        class_embedding = Parameter(randn(config.HiddenSize));
        patch_embedding = Conv2d(config.NumChannels, config.HiddenSize, config.PatchSize, stride: config.PatchSize, bias: false);
        position_embedding = Embedding(config.NumPositions, config.HiddenSize);
        RegisterComponents();
    }

    /// <param name="pixelValues">normalized images [batch, 3, size, size]</param>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var patches = patch_embedding.forward(pixelValues.to(class_embedding.dtype)).flatten(2).transpose(1, 2);
        if (patches.shape[1] + 1 != position_embedding.weight!.shape[0])
            throw new ArgumentException($"image of {pixelValues.shape[2]}x{pixelValues.shape[3]} px gives {patches.shape[1]} patches; " +
                                        $"the model has position embeddings for {position_embedding.weight.shape[0] - 1}");
        var classToken = class_embedding.expand(patches.shape[0], 1, -1);
        return cat([classToken, patches], 1).Plus(position_embedding.weight).MoveToOuterDisposeScope();
    }

    /// <summary>Resizes the patch-grid position embeddings bicubically (the class token's stays), so the model can
    /// take images of another size, as open_clip's resize_pos_embed does.</summary>
    public void InterpolatePositionEmbeddings(int oldGrid, int newGrid)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var weight = position_embedding.weight!;
        var width = weight.shape[1];
        var grid = weight[1..].reshape(1, oldGrid, oldGrid, width).permute(0, 3, 1, 2).to(ScalarType.Float32);
        var resized = functional.interpolate(grid, [newGrid, newGrid], mode: InterpolationMode.Bicubic, align_corners: false)
            .permute(0, 2, 3, 1).reshape(newGrid * newGrid, width).to(weight.dtype);
        position_embedding.weight = Parameter(cat([weight[..1], resized], 0).MoveToOuterDisposeScope());
    }
}

/// <summary>The ViT image transformer; pooled output = post-norm class token.</summary>
public sealed class ClipVisionTransformer : Module<Tensor, (Tensor LastHiddenState, Tensor Pooled)>
{
    public readonly ClipVisionEmbeddings embeddings;
    public readonly LayerNorm pre_layrnorm;  // sic: HF's spelling, kept so weights map by name
    public readonly ClipEncoder encoder;
    public readonly LayerNorm post_layernorm;

    public ClipVisionTransformer(ClipVisionConfig config) : base(nameof(ClipVisionTransformer))
    {
        embeddings = new ClipVisionEmbeddings(config);
        pre_layrnorm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        encoder = new ClipEncoder(config.HiddenSize, config.IntermediateSize, config.NumAttentionHeads,
            config.NumHiddenLayers, config.HiddenAct, config.LayerNormEps);
        post_layernorm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public override (Tensor LastHiddenState, Tensor Pooled) forward(Tensor pixelValues) =>
        ForwardFromLayer(pre_layrnorm.forward(embeddings.forward(pixelValues)), fromLayer: 0);

    /// <summary>The token states [N, tokens, width] that enter encoder layer <paramref name="layer"/> (0 = the
    /// embeddings after the pre-norm; the number of layers = the output of the last one, before the post-norm): what
    /// <see cref="ForwardFromLayer"/> takes.</summary>
    public Tensor ForwardToLayer(Tensor pixelValues, int layer)
    {
        var layers = encoder.layers;
        if (layer < 0 || layer > layers.Count)
            throw new OptionException($"layer {layer} does not exist: the vision encoder has layers 0 to {layers.Count}");
        using var scope = NewDisposeScope();
        var hidden = pre_layrnorm.forward(embeddings.forward(pixelValues));
        for (var i = 0; i < layer; i++) hidden = layers[i].forward(hidden, false);
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>Runs the encoder from <paramref name="fromLayer"/> on the token states that enter it.</summary>
    public (Tensor LastHiddenState, Tensor Pooled) ForwardFromLayer(Tensor hiddenStates, int fromLayer)
    {
        using var scope = NewDisposeScope();
        var lastHiddenState = encoder.Forward(hiddenStates, causal: false, fromLayer);
        var pooled = post_layernorm.forward(lastHiddenState[.., 0]);
        return (lastHiddenState.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope());
    }
}

/// <summary>CLIP: two towers, their projections into one space, and the learned temperature.</summary>
public sealed class ClipModel : Module<Tensor, Tensor, (Tensor LogitsPerImage, Tensor LogitsPerText)>
{
    public readonly ClipTextTransformer text_model;
    public readonly ClipVisionTransformer vision_model;
    public readonly Linear visual_projection;
    public readonly Linear text_projection;
    public readonly Parameter logit_scale;

    public ClipConfig Config { get; private set; }

    public ClipModel(ClipConfig config) : base(nameof(ClipModel))
    {
        config.Validate("model config");
        Config = config;
        text_model = new ClipTextTransformer(config.Text);
        vision_model = new ClipVisionTransformer(config.Vision);
        visual_projection = Linear(config.Vision.HiddenSize, config.ProjectionDim, hasBias: false);
        text_projection = Linear(config.Text.HiddenSize, config.ProjectionDim, hasBias: false);
        logit_scale = Parameter(tensor((float)config.LogitScaleInitValue));
        RegisterComponents();
    }

    public ScalarType DType => logit_scale.dtype;

    public Device Device => logit_scale.device;

    /// <summary>Unnormalized image features [batch, projection_dim] (OpenAI's encode_image).</summary>
    public Tensor GetImageFeatures(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return visual_projection.forward(vision_model.forward(pixelValues).Pooled).MoveToOuterDisposeScope();
    }

    /// <summary>Unnormalized image features [batch, projection_dim] of the token states [batch, tokens, width] that
    /// enter vision encoder layer <paramref name="layer"/> (partial inversion's features): the rest of the tower only.</summary>
    public Tensor GetImageFeaturesFromLayer(Tensor hiddenStates, int layer)
    {
        using var scope = NewDisposeScope();
        return visual_projection.forward(vision_model.ForwardFromLayer(hiddenStates, layer).Pooled).MoveToOuterDisposeScope();
    }

    /// <summary>The parameters partial features pass through: vision encoder layers <paramref name="layer"/> on, the
    /// post-norm and the projection.</summary>
    public IEnumerable<Parameter> ImageParametersFromLayer(int layer) =>
        vision_model.encoder.layers.Skip(layer).SelectMany(block => block.parameters())
            .Concat(vision_model.post_layernorm.parameters()).Concat(visual_projection.parameters());

    /// <summary>Unnormalized text features [batch, projection_dim] (OpenAI's encode_text).</summary>
    public Tensor GetTextFeatures(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return text_projection.forward(text_model.forward(inputIds).Pooled).MoveToOuterDisposeScope();
    }

    /// <summary>Scaled cosine similarities of every image with every text, as CLIP's forward returns them.</summary>
    public override (Tensor LogitsPerImage, Tensor LogitsPerText) forward(Tensor pixelValues, Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var logitsPerImage = Logits(GetImageFeatures(pixelValues), GetTextFeatures(inputIds));
        return (logitsPerImage.MoveToOuterDisposeScope(), logitsPerImage.t().MoveToOuterDisposeScope());
    }

    /// <summary>exp(logit_scale) × normalized image features · normalized text featuresᵀ.</summary>
    public Tensor Logits(Tensor imageFeatures, Tensor textFeatures) => ScaledCosine(imageFeatures, textFeatures, logit_scale);

    /// <summary>exp(<paramref name="logitScale"/>) × normalized image features · normalized text featuresᵀ:
    /// [images, texts].</summary>
    public static Tensor ScaledCosine(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale)
    {
        using var scope = NewDisposeScope();
        var cosine = functional.normalize(imageFeatures, dim: -1).matmul(functional.normalize(textFeatures, dim: -1).t());
        return (logitScale.exp() * cosine).MoveToOuterDisposeScope();
    }

    /// <summary>Makes the model take images of <paramref name="imageSize"/> px by interpolating its position embeddings.</summary>
    public void ResizeImageInput(int imageSize)
    {
        var vision = Config.Vision;
        if (imageSize % vision.PatchSize != 0)
            throw new OptionException($"image size {imageSize} is not a multiple of the patch size {vision.PatchSize}");
        if (imageSize == vision.ImageSize) return;
        vision_model.embeddings.InterpolatePositionEmbeddings(vision.GridSize, imageSize / vision.PatchSize);
        Config = Config with { Vision = vision with { ImageSize = imageSize } };
    }

    /// <summary>Appends rows [n, hidden] to the token embedding for n new vocabulary entries (ids from the old
    /// vocab_size on) and from then on pools the text at the first <paramref name="endOfTextId"/>: the legacy argmax
    /// pooling would land on a new id, which is larger than end-of-text. Texts without the new ids keep their
    /// features bit for bit, since their pooling position does not change.</summary>
    public void AddTokenEmbeddings(Tensor rows, int endOfTextId)
    {
        using var _ = no_grad();
        var embedding = text_model.embeddings.token_embedding;
        var weight = embedding.weight!;
        if (rows.dim() != 2 || rows.shape[1] != weight.shape[1])
            throw new ArgumentException($"new token embeddings must be [n, {weight.shape[1]}], got [{string.Join(", ", rows.shape)}]", nameof(rows));
        // Detached from any dispose scope the caller has open: the table outlives it.
        embedding.weight = Parameter(cat([weight, rows.to(weight.dtype, weight.device)]).DetachFromDisposeScope());
        var text = Config.Text with { VocabSize = (int)embedding.weight.shape[0], EosTokenId = endOfTextId };
        Config = Config with { Text = text };
        text_model.Config = text;
    }

    public long CountParameters(string prefix = "") =>
        named_parameters().Where(p => p.name.StartsWith(prefix, StringComparison.Ordinal)).Sum(p => p.parameter.numel());
}
