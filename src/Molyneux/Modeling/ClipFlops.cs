namespace Molyneux.Modeling;

/// <summary>Floating-point operations of CLIP's forward passes (a multiply-add counts as 2), for MFU: achieved
/// FLOP/s over the machine's peak. Counts the matrix products only; norms, softmax and activations are a few
/// percent at CLIP's sizes.</summary>
public static class ClipFlops
{
    /// <summary>One transformer layer over <paramref name="tokens"/> tokens of width <paramref name="width"/>:
    /// q, k, v and out projections (4·2·S·D²), scores and weighted values (2·2·S²·D), and the MLP (2·2·S·D·I).</summary>
    public static double EncoderLayer(long tokens, long width, long intermediate) =>
        8.0 * tokens * width * width + 4.0 * tokens * tokens * width + 4.0 * tokens * width * intermediate;

    /// <summary>Image features of one image: patch embedding, the layers, and the projection.</summary>
    public static double ImageEncoding(ClipConfig config)
    {
        var vision = config.Vision;
        long patches = vision.GridSize * vision.GridSize;
        var patchEmbedding = 2.0 * patches * vision.NumChannels * vision.PatchSize * vision.PatchSize * vision.HiddenSize;
        return patchEmbedding
               + vision.NumHiddenLayers * EncoderLayer(vision.NumPositions, vision.HiddenSize, vision.IntermediateSize)
               + 2.0 * vision.HiddenSize * config.ProjectionDim;
    }

    /// <summary>Text features of one text of the full context length (CLIP always runs all positions).</summary>
    public static double TextEncoding(ClipConfig config)
    {
        var text = config.Text;
        return text.NumHiddenLayers * EncoderLayer(text.MaxPositionEmbeddings, text.HiddenSize, text.IntermediateSize)
               + 2.0 * text.HiddenSize * config.ProjectionDim;
    }
}
