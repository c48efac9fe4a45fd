using Molyneux.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Captioning;

/// <summary>Where open_clip's releases and its main branch differ in ending a caption decoded token by token (greedy
/// or sampled).</summary>
public enum CaptionStopping
{
    /// <summary>open_clip main (transformers' loop): a row ends at the end token only, and a row that never picks it
    /// runs to the maximum length without one.</summary>
    OpenClipMain,

    /// <summary>open_clip ≤ 3.3.0 (its own loop): the last token of an unfinished row is forced to the end token,
    /// and a generated pad id (BPE's "!") ends a row too.</summary>
    OpenClipRelease,
}

/// <summary>open_clip's <c>generation_type</c>s, with greedy (its <c>top_k</c> with k = 1) named on its own.</summary>
public enum CaptionDecoding
{
    /// <summary>The most likely next id at every step.</summary>
    Greedy,

    /// <summary>Beam search as open_clip main runs it through transformers (standard beam search, one group).</summary>
    BeamSearch,

    /// <summary>Sampling among the <see cref="CaptionOptions.TopK"/> most likely ids.</summary>
    TopK,

    /// <summary>Nucleus sampling: among the most likely ids whose probabilities reach <see cref="CaptionOptions.TopP"/>.</summary>
    TopP,
}

/// <summary>open_clip's <c>generate</c> settings; the defaults are open_clip's, except that greedy decoding (not
/// beam search) is the default decoding.</summary>
public sealed record CaptionOptions
{
    public CaptionDecoding Decoding { get; init; } = CaptionDecoding.Greedy;

    /// <summary>open_clip's <c>seq_len</c>: the most ids a caption has, start token included.</summary>
    public int MaxLength { get; init; } = 30;

    /// <summary>open_clip's <c>min_seq_len</c>: the end token is banned while a caption has fewer ids than this
    /// (start token included), so the earliest end token is at index MinLength.</summary>
    public int MinLength { get; init; } = 5;

    public long StartTokenId { get; init; } = 49406;

    public long EndTokenId { get; init; } = 49407;

    public long PadTokenId { get; init; } = 0;

    /// <summary>How greedy and sampled captions end. Beam search ends as open_clip main's does; open_clip 3.3.0's
    /// group beam search is not reproduced, so it refuses <see cref="CaptionStopping.OpenClipRelease"/>.</summary>
    public CaptionStopping Stopping { get; init; } = CaptionStopping.OpenClipMain;

    /// <summary>open_clip's <c>num_beams</c>, for beam search.</summary>
    public int Beams { get; init; } = 6;

    /// <summary>open_clip's <c>top_k</c>, for top-k sampling.</summary>
    public int TopK { get; init; } = 1;

    /// <summary>open_clip's <c>top_p</c>, for top-p sampling: the smallest set of most likely ids whose probabilities
    /// sum to more than this is kept.</summary>
    public double TopP { get; init; } = 0.1;

    /// <summary>Divides the logits before top-k or top-p sampling.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>transformers' repetition penalty: the score of an id already in the caption is divided by it where
    /// positive and multiplied by it where negative; 1 changes nothing.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Seeds the random generator of top-k and top-p sampling, so a seed gives the same captions.</summary>
    public ulong Seed { get; init; }

    /// <summary>The settings that decide the captions, for a page or a record that shows them: "greedy, 5–30 ids",
    /// "beam search (3 beams), 5–30 ids", "top-p 0.9 sampling (temperature 1, seed 0), 5–30 ids".</summary>
    public string Summary
    {
        get
        {
            var decoding = Decoding switch
            {
                CaptionDecoding.Greedy => "greedy",
                CaptionDecoding.BeamSearch => $"beam search ({Beams} beams)",
                CaptionDecoding.TopK => $"top-k {TopK} sampling (temperature {Temperature:G}, seed {Seed})",
                _ => $"top-p {TopP:G} sampling (temperature {Temperature:G}, seed {Seed})",
            };
            var penalty = RepetitionPenalty == 1 ? "" : $", repetition penalty {RepetitionPenalty:G}";
            return $"{decoding}, {MinLength}–{MaxLength} ids{penalty}";
        }
    }
}

/// <summary>Captions for images as open_clip's <c>generate</c> makes them. At each step the whole prefix runs through
/// the text tower and the decoder again (no cache, as in open_clip). The end token is banned until
/// <see cref="CaptionOptions.MinLength"/>, and the repetition penalty applies before the decoding's own choice.</summary>
public static class CaptionGeneration
{
    /// <summary>Made once: a temporary Scalar can be freed while libtorch reads it (Runtime/LiveScalars.cs).</summary>
    private static readonly Scalar Banned = double.NegativeInfinity;

    /// <summary>transformers' stand-in for an impossible beam score: a finite −∞ that sums without NaNs.</summary>
    private static readonly Scalar Unreachable = -1e9;

    /// <param name="pixelValues">normalized images [batch, 3, size, size], on the model's device</param>
    /// <returns>int64 [batch, length]: the start token first, the end token kept, the pad id after a row's end.
    /// length is <see cref="CaptionOptions.MaxLength"/>, or less when every row ended before it.</returns>
    /// <param name="model">The CoCa model that captions the images.</param>
    /// <param name="options">Greedy or beam search, lengths and repetition penalty; null: open_clip's defaults.</param>
    public static Tensor Generate(CocaModel model, Tensor pixelValues, CaptionOptions? options = null)
    {
        options ??= new CaptionOptions();
        Validate(model, options);
        return options.Decoding switch
        {
            CaptionDecoding.Greedy => TokenByToken(model, pixelValues, options, logits => logits.argmax(-1)),
            CaptionDecoding.BeamSearch => BeamSearch(model, pixelValues, options),
            _ => Sample(model, pixelValues, options),
        };
    }

    /// <summary>Each id drawn from the softmax of the logits divided by the temperature, restricted to the top k ids
    /// or to the top-p nucleus (transformers' order: temperature, then the filter).</summary>
    private static Tensor Sample(CocaModel model, Tensor pixelValues, CaptionOptions options)
    {
        using var generator = new Generator(options.Seed, model.Device);
        return TokenByToken(model, pixelValues, options, logits =>
        {
            var tempered = options.Temperature == 1.0 ? logits : logits.Over(options.Temperature);
            var kept = options.Decoding == CaptionDecoding.TopK ? KeepTopK(tempered, options.TopK) : KeepNucleus(tempered, options.TopP);
            return kept.softmax(-1).multinomial(1, generator: generator).squeeze(1);
        });
    }

    /// <summary>transformers' TopKLogitsWarper: ids scoring below the k-th highest score are banned (ties kept).</summary>
    private static Tensor KeepTopK(Tensor logits, int k)
    {
        var kthHighest = logits.topk((int)Math.Min(k, logits.shape[1])).values[.., ^1..];
        return logits.masked_fill(logits.lt(kthHighest), Banned);
    }

    /// <summary>transformers' TopPLogitsWarper: sorted from least likely, the ids whose cumulative probability is at
    /// most 1 − p are banned, and the most likely id always stays.</summary>
    private static Tensor KeepNucleus(Tensor logits, double p)
    {
        var (ascending, order) = logits.sort(-1);
        var cumulative = ascending.softmax(-1).cumsum(-1);
        var banned = cumulative.le(tensor(1 - p, cumulative.dtype, cumulative.device));
        banned = cat([banned[.., ..^1], zeros(banned.shape[0], 1, ScalarType.Bool, banned.device)], 1);
        return logits.masked_fill(banned.scatter(1, order, banned), Banned);
    }

    /// <summary>transformers' logits processors, as open_clip configures them: the end token banned while the
    /// captions are shorter than the minimum length, and the repetition penalty on every id already in a caption.</summary>
    /// <param name="scores">[rows, vocab] logits, or log-probabilities in beam search</param>
    /// <param name="ids">[rows, length] the captions so far</param>
    /// <param name="options">The minimum length and repetition penalty to apply.</param>
    private static Tensor Process(Tensor scores, Tensor ids, CaptionOptions options)
    {
        if (ids.shape[1] < options.MinLength)
            scores = scores.index_fill(1, tensor(new[] { options.EndTokenId }, device: scores.device), Banned);
        if (options.RepetitionPenalty == 1.0) return scores;
        var seen = scores.gather(1, ids);
        var penalized = where(seen.Below(0), seen.Times(options.RepetitionPenalty), seen.Over(options.RepetitionPenalty));
        return scores.scatter(1, ids, penalized);
    }

    /// <summary>open_clip's token-by-token loop: every unfinished row appends the id <paramref name="chooseNext"/>
    /// picks from its processed next-token logits; finished rows append the pad id.</summary>
    /// <param name="chooseNext">[rows, vocab] processed logits → int64 [rows] ids</param>
    /// <param name="model">The CoCa model whose text decoder extends the captions.</param>
    /// <param name="pixelValues">normalized images [rows, 3, size, size], on the model's device</param>
    /// <param name="options">The start, end and pad ids, the lengths and the logits processing.</param>
    private static Tensor TokenByToken(CocaModel model, Tensor pixelValues, CaptionOptions options, Func<Tensor, Tensor> chooseNext)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var imageTokens = model.GetImageTokens(pixelValues);
        var batch = pixelValues.shape[0];
        var device = imageTokens.device;
        var ids = tensor(options.StartTokenId, device: device).expand(batch, 1);
        var endId = tensor(options.EndTokenId, device: device);
        var padId = tensor(options.PadTokenId, device: device);
        var finished = zeros(batch, ScalarType.Bool, device);
        while (ids.shape[1] < options.MaxLength)
        {
            using var step = NewDisposeScope();
            var logits = model.CaptionLogits(imageTokens, ids)[.., -1];
            var next = chooseNext(Process(logits, ids, options));
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

    /// <summary>Beam search as transformers runs it for open_clip main (num_beams beams, one group, length penalty 1,
    /// early_stopping False). Scores are summed log-probabilities after the logits processors. Each step extends
    /// every beam by every id and keeps the 2·beams best candidates. Those that end (the end token, or the maximum
    /// length reached) and rank among the first beams become finished hypotheses, scored by their sum divided by the
    /// number of ids generated after the start token; the best beams that do not end run on. An image is decided
    /// once its beams are all finished and its best running beam, divided by the length it has, cannot beat the worst
    /// of them. The caption is the best-scoring finished hypothesis.</summary>
    private static Tensor BeamSearch(CocaModel model, Tensor pixelValues, CaptionOptions options)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (batch, beams, maxLength, vocab) = (pixelValues.shape[0], options.Beams, options.MaxLength, (long)model.Config.VocabSize);
        var imageTokens = model.GetImageTokens(pixelValues).repeat_interleave(beams, 0);
        var device = imageTokens.device;
        var running = tensor(options.StartTokenId, device: device).expand(batch, beams, 1);
        if (maxLength == 1) return running[.., 0].MoveToOuterDisposeScope();
        // Only the first beam starts live, so that the first step does not draw the same candidate from every beam.
        var runningScores = cat([zeros(batch, 1, device: device), Unlikely(batch, beams - 1, device)], 1);
        var finished = tensor(options.PadTokenId, device: device).expand(batch, beams, maxLength);
        var finishedScores = Unlikely(batch, beams, device);
        var finishedLengths = zeros(batch, beams, ScalarType.Int64, device);
        var undecided = ones(batch, 1, ScalarType.Bool, device);
        var candidateCount = 2 * beams;
        var amongFirstBeams = LiveScalars.Range(candidateCount, device).lt(tensor((long)beams, device: device));
        var vocabSize = tensor(vocab, device: device);
        var endId = tensor(options.EndTokenId, device: device);
        for (var length = 1; length < maxLength; length++)
        {
            using var step = NewDisposeScope();
            var flat = running.reshape(batch * beams, length);
            var logProbs = Process(model.CaptionLogits(imageTokens, flat)[.., -1].log_softmax(-1), flat, options);
            var totals = logProbs.view(batch, beams, vocab).Plus(runningScores.unsqueeze(2)).view(batch, beams * vocab);
            var (candidateScores, flatIndex) = totals.topk(candidateCount);
            var sourceBeam = flatIndex.div(vocabSize, RoundingMode.floor);
            var candidates = cat([running.gather(1, sourceBeam.unsqueeze(2).expand(-1, -1, length)), flatIndex.remainder(vocabSize).unsqueeze(2)], 2);
            var ends = length + 1 == maxLength ? ones_like(candidateScores, ScalarType.Bool) : candidates[.., .., -1].eq(endId);

            var (nextScores, kept) = candidateScores.masked_fill(ends, Unreachable).topk(beams);
            running = candidates.gather(1, kept.unsqueeze(2).expand(-1, -1, length + 1)).MoveToOuterDisposeScope();
            runningScores = nextScores.MoveToOuterDisposeScope();

            var justFinished = ends.logical_and(amongFirstBeams).logical_and(undecided);
            var normalized = candidateScores.Over(length).masked_fill(justFinished.logical_not(), Unreachable);
            var (bestScores, best) = cat([finishedScores, normalized], 1).topk(beams);
            var padded = cat([candidates, tensor(options.PadTokenId, device: device).expand(batch, candidateCount, maxLength - length - 1)], 2);
            finished = cat([finished, padded], 1).gather(1, best.unsqueeze(2).expand(-1, -1, maxLength)).MoveToOuterDisposeScope();
            finishedLengths = cat([finishedLengths, tensor((long)length + 1, device: device).expand(batch, candidateCount)], 1).gather(1, best).MoveToOuterDisposeScope();
            finishedScores = bestScores.MoveToOuterDisposeScope();

            // Unfilled hypotheses hold −1e9, so an image with one stays undecided while any beam runs.
            var bestRunning = runningScores[.., ..1].Over(length);
            undecided = undecided.logical_and(bestRunning.gt(finishedScores.min(1, keepdim: true).values)).MoveToOuterDisposeScope();
            if (!undecided.any().item<bool>()) break;
        }
        var longest = finishedLengths[.., 0].max().item<long>();
        return finished[.., 0, ..(int)longest].MoveToOuterDisposeScope();
    }

    private static Tensor Unlikely(long rows, long columns, Device device) => full([rows, columns], Unreachable, ScalarType.Float32, device);

    private static void Validate(CocaModel model, CaptionOptions options)
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
        if (options.Beams < 1)
            throw new OptionException($"beam count {options.Beams} must be at least 1");
        if (options.Decoding == CaptionDecoding.BeamSearch && options.Stopping == CaptionStopping.OpenClipRelease)
            throw new OptionException("beam search follows open_clip main; open_clip 3.3.0's group beam search is not reproduced");
        if (options.TopK < 1)
            throw new OptionException($"top-k {options.TopK} must be at least 1");
        if (!(options.TopP > 0 && options.TopP <= 1))
            throw new OptionException($"top-p {options.TopP} is outside (0, 1]");
        if (!(options.Temperature > 0) || !double.IsFinite(options.Temperature))
            throw new OptionException($"temperature {options.Temperature} must be positive");
        if (!(options.RepetitionPenalty > 0) || !double.IsFinite(options.RepetitionPenalty))
            throw new OptionException($"repetition penalty {options.RepetitionPenalty} must be positive");
    }
}
