using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Captioning;

/// <summary>Where open_clip's releases and its main branch differ in ending a greedy caption.</summary>
public enum CaptionStopping
{
    /// <summary>open_clip main (transformers' loop): a row ends at the end token only, and a row that never picks it
    /// runs to the maximum length without one.</summary>
    OpenClipMain,

    /// <summary>open_clip ≤ 3.3.0 (its own loop): the last token of an unfinished row is forced to the end token,
    /// and a generated pad id (BPE's "!") ends a row too.</summary>
    OpenClipRelease,
}

/// <summary>open_clip's <c>generate</c> settings for greedy decoding; the defaults are open_clip's.</summary>
public sealed record GreedyCaptionOptions
{
    /// <summary>open_clip's <c>seq_len</c>: the most ids a caption has, start token included.</summary>
    public int MaxLength { get; init; } = 30;

    /// <summary>open_clip's <c>min_seq_len</c>: the end token is banned while a caption has fewer ids than this
    /// (start token included), so the earliest end token is at index MinLength.</summary>
    public int MinLength { get; init; } = 5;

    public long StartTokenId { get; init; } = 49406;

    public long EndTokenId { get; init; } = 49407;

    public long PadTokenId { get; init; } = 0;

    public CaptionStopping Stopping { get; init; } = CaptionStopping.OpenClipMain;
}

/// <summary>Captions for images by greedy decoding, as open_clip's <c>generate(image, generation_type="top_k",
/// top_k=1)</c>: at each step the whole prefix runs through the text tower and the decoder again (no cache, as in
/// open_clip) and every unfinished row appends its most likely next id.</summary>
public static class CaptionGeneration
{
    /// <summary>Made once: a temporary Scalar can be freed while libtorch reads it (Runtime/LiveScalars.cs).</summary>
    private static readonly Scalar Banned = double.NegativeInfinity;

    /// <param name="pixelValues">normalized images [batch, 3, size, size], on the model's device</param>
    /// <returns>int64 [batch, length]: the start token first, the end token kept, the pad id after a row's end.
    /// length is <see cref="GreedyCaptionOptions.MaxLength"/>, or less when every row ended before it.</returns>
    public static Tensor Greedy(CocaModel model, Tensor pixelValues, GreedyCaptionOptions? options = null)
    {
        options ??= new GreedyCaptionOptions();
        Validate(model, options);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var imageTokens = model.GetImageTokens(pixelValues);
        var batch = pixelValues.shape[0];
        var device = imageTokens.device;
        var ids = tensor(options.StartTokenId, device: device).expand(batch, 1);
        var endId = tensor(options.EndTokenId, device: device);
        var padId = tensor(options.PadTokenId, device: device);
        var endIndex = tensor(new[] { options.EndTokenId }, device: device);
        var finished = zeros(batch, ScalarType.Bool, device);
        while (ids.shape[1] < options.MaxLength)
        {
            using var step = NewDisposeScope();
            var logits = model.CaptionLogits(imageTokens, ids)[.., -1];
            if (ids.shape[1] < options.MinLength) logits = logits.index_fill(1, endIndex, Banned);
            var next = logits.argmax(-1);
            if (options.Stopping == CaptionStopping.OpenClipRelease && ids.shape[1] + 1 == options.MaxLength) next = endId.expand_as(next);
            next = where(finished, padId, next);
            var ended = next.eq(endId);
            if (options.Stopping == CaptionStopping.OpenClipRelease) ended = ended.logical_or(next.eq(padId));
            ids = cat([ids, next.unsqueeze(1)], 1).MoveToOuterDisposeScope();
            finished = finished.logical_or(ended).MoveToOuterDisposeScope();
            if (finished.all().item<bool>()) break;
        }
        return ids.MoveToOuterDisposeScope();
    }

    private static void Validate(CocaModel model, GreedyCaptionOptions options)
    {
        // The longest prefix the model reads is one id shorter than the caption.
        var longest = Math.Min(model.text.ContextLength, model.text_decoder.ContextLength) + 1;
        if (options.MaxLength < 1 || options.MaxLength > longest)
            throw new OptionException($"maximum caption length {options.MaxLength} is outside 1..{longest} (the model reads at most {longest - 1} ids)");
        if (options.MinLength < 0)
            throw new OptionException($"minimum caption length {options.MinLength} must not be negative");
        foreach (var (id, role) in new[] { (options.StartTokenId, "start"), (options.EndTokenId, "end"), (options.PadTokenId, "pad") })
            if (id < 0 || id >= model.Config.VocabSize)
                throw new OptionException($"{role} token id {id} is outside the vocabulary (0..{model.Config.VocabSize - 1})");
    }
}
