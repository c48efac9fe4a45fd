namespace Molyneux.Modeling;

/// <summary>Floating-point operations of CLIP's forward and backward passes (a multiply-add counts as 2), for MFU:
/// achieved FLOP/s over the machine's peak. Counts the matrix products only; norms, softmax, activations and the
/// optimizer's update are a few percent of the work at CLIP's sizes (they cost time, not model FLOPs).
///
/// Backward: each product Y = X·W of the forward pass costs one product of the same size for X's gradient
/// (dY·Wᵀ) and one for W's (Xᵀ·dY), each only when needed. Attention's two products (Q·Kᵀ and P·V) have four
/// in their backward (dP, dV, dQ, dK), whatever needs gradients. So a backward pass costs about 2× the forward
/// when the weights are trained (fine-tuning), and about 1× when only the input gets a gradient (inversion, whose
/// weights are frozen). Recomputation inside fused kernels (flash attention's backward recomputes the scores) is
/// not counted, as MFU counts the model's FLOPs, not the hardware's.</summary>
public static class ClipFlops
{
    /// <summary>One transformer layer over <paramref name="tokens"/> tokens of width <paramref name="width"/>:
    /// q, k, v and out projections (4·2·S·D²), scores and weighted values (2·2·S²·D), and the MLP (2·2·S·D·I).</summary>
    public static double EncoderLayer(long tokens, long width, long intermediate) =>
        LayerProjections(tokens, width, intermediate) + LayerAttention(tokens, width);

    /// <summary>The products of a layer with a weight: q, k, v, out and the two MLP matrices.</summary>
    private static double LayerProjections(long tokens, long width, long intermediate) =>
        8.0 * tokens * width * width + 4.0 * tokens * width * intermediate;

    /// <summary>The products of activations with activations: Q·Kᵀ and P·V.</summary>
    private static double LayerAttention(long tokens, long width) => 4.0 * tokens * tokens * width;

    /// <summary>Image features of one image: patch embedding, the layers, and the projection.</summary>
    public static double ImageEncoding(ClipConfig config)
    {
        var vision = config.Vision;
        return PatchEmbedding(vision)
               + vision.NumHiddenLayers * EncoderLayer(vision.NumPositions, vision.HiddenSize, vision.IntermediateSize)
               + 2.0 * vision.HiddenSize * config.ProjectionDim;
    }

    /// <summary>The backward pass of <see cref="ImageEncoding"/> for one image: the activations' gradients through
    /// every layer, plus the pixels' gradient (<paramref name="toPixels"/>, inversion) and every weight's
    /// (<paramref name="toWeights"/>, fine-tuning the image tower).</summary>
    public static double ImageEncodingBackward(ClipConfig config, bool toPixels, bool toWeights)
    {
        var vision = config.Vision;
        var (tokens, width, intermediate) = (vision.NumPositions, vision.HiddenSize, vision.IntermediateSize);
        var projection = 2.0 * width * config.ProjectionDim;
        var activations = vision.NumHiddenLayers * (LayerProjections(tokens, width, intermediate) + 2 * LayerAttention(tokens, width)) + projection;
        var pixels = toPixels ? PatchEmbedding(vision) : 0;
        var weights = toWeights ? vision.NumHiddenLayers * LayerProjections(tokens, width, intermediate) + PatchEmbedding(vision) + projection : 0;
        return activations + pixels + weights;
    }

    /// <summary>One step of <see cref="KnowledgeTransfer.Inversion"/> over pixels: every augmented copy of every image
    /// forward through the frozen image tower and back to the pixels.</summary>
    public static double InversionStep(ClipConfig config, long images, long augmentedCopies) =>
        images * augmentedCopies * (ImageEncoding(config) + ImageEncodingBackward(config, toPixels: true, toWeights: false));

    /// <summary>One step of <see cref="KnowledgeTransfer.FineTuner"/> training the image tower on
    /// <paramref name="batch"/> images; the frozen text tower's features are encoded once before the first step.</summary>
    public static double FineTuneImageStep(ClipConfig config, long batch) =>
        batch * (ImageEncoding(config) + ImageEncodingBackward(config, toPixels: false, toWeights: true));

    /// <summary>Text features of one text of the full context length (CLIP always runs all positions).</summary>
    public static double TextEncoding(ClipConfig config)
    {
        var text = config.Text;
        return text.NumHiddenLayers * EncoderLayer(text.MaxPositionEmbeddings, text.HiddenSize, text.IntermediateSize)
               + 2.0 * text.HiddenSize * config.ProjectionDim;
    }

    private static double PatchEmbedding(ClipVisionConfig vision) =>
        2.0 * vision.GridSize * vision.GridSize * vision.NumChannels * vision.PatchSize * vision.PatchSize * vision.HiddenSize;
}
