using System.Diagnostics;
using System.Text.Json;
using Molyneux.Checkpoints;
using Molyneux.Evaluation;
using Molyneux.Modeling;
using Molyneux.Pretraining;
using Molyneux.Runtime;
using Molyneux.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace Molyneux.Alignment;

/// <param name="Curve">Every step's loss, the projections' learning rate and the temperature, and at probe steps the
/// top-1 of each of the data's zero-shot probes by name ("heldout_style_top1", …): pretraining's learning curve.</param>
/// <param name="Data">What the towers were aligned on (the data's own description), for the record.</param>
/// <param name="Options">The options the run used, so that the result says how it was obtained.</param>
/// <param name="TrainableParameters">How many parameters training updated (the projections, and any tower layers left unfrozen).</param>
/// <param name="Elapsed">The whole run, encoding the frozen towers' features included.</param>
public sealed record AlignResult(string Data, AlignOptions Options, IReadOnlyList<CurvePoint> Curve, long TrainableParameters, TimeSpan Elapsed);

/// <summary>A training step (<see cref="Step"/> &gt; 0), a new stage of the set-up (<see cref="Stage"/>), or how far
/// the current set-up stage has got (<see cref="Encoded"/>).</summary>
/// <param name="Evaluated">The learning-curve point of this step (its learning rate, and the probes where they ran).</param>
/// <param name="Step">The training step just taken, from 1; 0 while the set-up runs.</param>
/// <param name="TotalSteps">The steps the run will take, for a progress bar.</param>
/// <param name="Loss">The step's contrastive loss (0 during the set-up).</param>
/// <param name="Stage">The set-up stage that starts (for instance encoding the frozen towers' features); null for a step.</param>
/// <param name="Encoded">How many of the current stage's items are done, of how many; null when the stage has no count.</param>
public readonly record struct AlignProgress(int Step, int TotalSteps, double Loss, string? Stage = null, (int Done, int Total)? Encoded = null,
    CurvePoint? Evaluated = null) : IStepScalars
{
    /// <summary>Nothing for the set-up reports (stage messages, encoding counts), which come at step 0.</summary>
    public IEnumerable<(string Tag, double Value)> Scalars() => Evaluated is null ? [] :
        [("loss", Loss), ("lr", Evaluated.LearningRate), .. PretrainProgress.CurveScalars(Evaluated)];
}

/// <summary>Contrastive alignment of a pretrained dual encoder on image–caption pairs (LiT, Zhai et al. 2022; APE,
/// Rosenfeld et al. 2022): the chosen parts (<see cref="AlignOptions.Train"/>) learn with CLIP's symmetric InfoNCE,
/// everything else stays as pretrained. What does not train is computed once: the image tower's stages below the
/// unlocked ones for every image (training and probe images; for training images, for each of
/// <see cref="AlignOptions.ImageViews"/> views), and, when the text tower is locked, the pooled text features of every
/// distinct caption. BatchNorm keeps its pretrained running statistics (eval mode) while its
/// affine weights train, the usual choice for fine-tuning with small batches. The model is trained in place. With a
/// <see cref="State"/>, the run saves what it has trained, the optimizer's moments, the step and the curve every
/// <see cref="SaveInterval"/> and when cancelled, and a run given that state continues exactly as an uninterrupted one
/// (the set-up is computed again; the data order is replayed from the seed).</summary>
public sealed class Aligner(AlignOptions options)
{
    /// <summary>The file in the state folder whose presence means a state was saved.</summary>
    public const string StateFile = "align_state.json";
    private const string TrainedFile = "trained.safetensors";
    private const string OptimizerFile = "optimizer.bin";

    public IProgress<AlignProgress>? Progress { get; init; }

    /// <summary>Where the state is kept and continued from (<c>OUT.resume</c> beside the output); null: none.</summary>
    public ResumableOutput? State { get; init; }

    public TimeSpan SaveInterval { get; init; } = TimeSpan.FromMinutes(3);

    /// <param name="model">The dual encoder, trained in place; for a resumed run, built as the interrupted one was.</param>
    /// <param name="data">The image–caption pairs and the probes.</param>
    /// <param name="cancellationToken">Checked between steps; with a <see cref="State"/> the state is saved first.</param>
    public AlignResult Run(DualEncoderPipeline model, IPretrainingData data, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var device = model.Device.Device;
        var module = model.Model;
        var trainsImage = options.Train.HasFlag(AlignedParts.ImageTower);
        var trainsText = options.Train.HasFlag(AlignedParts.TextTower);
        var stageCount = module.vision_model.StageCount;
        if (options.UnlockedImageStages > stageCount)
            throw new OptionException($"{options.UnlockedImageStages} unlocked stages asked, but the image tower has {stageCount}");
        var frozenStages = stageCount - (trainsImage ? options.UnlockedImageStages : 0);

        using var setup = NewDisposeScope();
        var sampleIndices = Enumerable.Range(0, data.Count).ToList();
        var augmentation = new RandomAffine(data.Augmentation);
        var trunks = cat(Enumerable.Range(0, options.ImageViews).Select(view =>
        {
            Progress?.Report(new AlignProgress(0, options.Steps, double.NaN,
                $"encoding the frozen image stages of {data.Count} images at {model.ImageSize} px" + (options.ImageViews > 1 ? $", view {view + 1} of {options.ImageViews}" : "")));
            // One generator per view, advanced batch by batch: a view's warps depend on the seed and the view alone.
            var warps = new Generator((ulong)(options.Seed * 7919L + 104729L * view));
            return ImageTrunks(model, frozenStages, indices =>
            {
                var images = data.Batch(indices, new Generator(0)).Images;
                return view == 0 ? images : augmentation.Apply(images, warps);
            }, sampleIndices, Progress);
        }).ToList(), 0);
        var captions = Enumerable.Range(0, options.CaptionDraws)
            .Select(draw => data.Batch(sampleIndices, new Generator((ulong)(options.Seed * 7919L + draw))).Captions).ToList();
        using var texts = new TextSide(model, trainsText, captions.SelectMany(c => c).Concat(data.Probes.SelectMany(p => p.PromptsPerClass.SelectMany(prompts => prompts))), Progress, options.Steps);
        var probeTrunks = data.Probes.Select(probe =>
        {
            Progress?.Report(new AlignProgress(0, options.Steps, double.NaN, $"encoding the frozen image stages of the {probe.Images.shape[0]} {probe.Name} probe images"));
            return ImageTrunks(model, frozenStages,
                indices => probe.Images.index_select(0, tensor(indices.Select(i => (long)i).ToArray())).to(ScalarType.Float32)
                    .Over(probe.Images.dtype == ScalarType.Byte ? 255 : 1), Enumerable.Range(0, (int)probe.Images.shape[0]).ToList(), Progress);
        }).ToList();

        var groups = ParameterGroups(model);
        var trainable = groups.SelectMany(group => group.Parameters).ToList();
        using var gradients = new RequiresGradScope(module, trainable);
        using var optimizer = optim.AdamW(groups.Select(group => new AdamW.ParamGroup(group.Parameters, new AdamW.Options { LearningRate = group.LearningRate })),
            beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: options.WeightDecay);
        var baseRates = groups.Select(group => group.LearningRate).ToList();
        // What trains, under the module's names: the part of the model a saved state holds.
        var trained = module.named_parameters().Where(named => trainable.Any(parameter => parameter.Handle == named.parameter.Handle))
            .Select(named => (named.name, (Tensor)named.parameter)).ToList();

        var stepsPerEpoch = Math.Max(1, data.Count / options.BatchSize);
        // The step's loss for rows of the data in an epoch: the view and the caption draw of that epoch.
        Tensor Loss(Tensor rows, int epoch)
        {
            var viewRows = rows.Plus((long)(epoch % options.ImageViews) * data.Count);
            var imageFeatures = ImageHead(module, trunks.index_select(0, viewRows).to(device), frozenStages);
            var textFeatures = texts.Features(rows.data<long>().Select(i => captions[epoch % captions.Count][(int)i]).ToList());
            return ContrastiveLoss.Compute(imageFeatures, textFeatures, module.logit_scale);
        }

        var saved = State is { HasState: true } ? LoadState(trained, optimizer) : null;
        var run = saved?.Options ?? options with { Steps = options.Minutes is { } minutes ? CalibrateSteps(minutes, clock.Elapsed, data.Count, Loss, optimizer) : options.Steps };
        var curve = saved?.Curve.ToList() ?? [];
        var firstStep = saved?.Step ?? 0;
        var minutesBefore = saved?.Minutes ?? 0;
        double Minutes() => minutesBefore + clock.Elapsed.TotalMinutes;

        // The order of every epoch comes from one generator: a resumed run replays the epochs already begun.
        var shuffling = new Generator((ulong)options.Seed + 1);
        Tensor? order = null;
        var (epochsBegun, positionOfFirst) = Math.DivRem(firstStep, stepsPerEpoch);
        for (var epoch = 0; epoch < epochsBegun + (positionOfFirst > 0 ? 1 : 0); epoch++)
        {
            order?.Dispose();
            order = randperm(data.Count, generator: shuffling);
        }
        var loop = new StepLoop("alignment", run.Steps)
        {
            Advice = "lower --lr", SaveInterval = SaveInterval, SaveWhenCancelled = true, StatePath = State?.ResumeFolder,
        };
        loop.Run(firstStep, step =>
        {
            var (epoch, position) = Math.DivRem(step, stepsPerEpoch);
            if (position == 0)
            {
                order?.Dispose();
                order = randperm(data.Count, generator: shuffling).MoveToOuterDisposeScope();
            }
            var schedule = Schedule(run, step);
            foreach (var (group, rate) in optimizer.ParamGroups.Zip(baseRates)) group.LearningRate = rate * schedule;
            var loss = Loss(order![(position * options.BatchSize)..((position + 1) * options.BatchSize)], epoch);
            optimizer.zero_grad();
            loss.backward();
            var lossValue = loss.item<float>();
            loop.RequireFinite(step, lossValue, "the loss");
            optimizer.step();
            using (no_grad()) module.logit_scale.ClampInPlace(0, Math.Log(100));
            var probeNow = step + 1 == run.Steps || (options.ProbeEvery > 0 && (step + 1) % options.ProbeEvery == 0);
            var point = new CurvePoint(step + 1, Minutes(), lossValue, optimizer.ParamGroups.First().LearningRate, Math.Exp(module.logit_scale.detach().cpu().item<float>()),
                probeNow ? Probe(module, data.Probes, probeTrunks, texts, frozenStages) : null);
            curve.Add(point);
            Progress?.Report(new AlignProgress(step + 1, run.Steps, lossValue, Evaluated: point));
        }, save: State is null ? null : done => SaveState(trained, optimizer, new SavedState(done, Minutes(), curve, run)), cancellationToken);
        order?.Dispose();
        model.WeightsChanged();
        return new AlignResult(data.Description, run, curve, trainable.Sum(parameter => parameter.numel()), TimeSpan.FromMinutes(Minutes()));
    }

    /// <summary>Linear warm-up to 1, then cosine decay to 0 over the remaining steps.</summary>
    private static double Schedule(AlignOptions run, int step) =>
        step < run.WarmupSteps
            ? (step + 1.0) / run.WarmupSteps
            : 0.5 * (1 + Math.Cos(Math.PI * (step - run.WarmupSteps) / Math.Max(1, run.Steps - run.WarmupSteps)));

    /// <summary>The steps that fit in what is left of <paramref name="minutes"/> after the set-up, from the mean time
    /// of two forward and backward passes of the first batch (after one that warms up), a fifth kept for the probes.
    /// Nothing is updated.</summary>
    private int CalibrateSteps(double minutes, TimeSpan setUp, int count, Func<Tensor, int, Tensor> loss, AdamW optimizer)
    {
        var seconds = new List<double>();
        for (var pass = 0; pass < 3; pass++)
        {
            using var scope = NewDisposeScope();
            var watch = Stopwatch.StartNew();
            loss(tensor(Enumerable.Range(0, Math.Min(options.BatchSize, count)).Select(row => (long)row).ToArray()), 0).backward();
            if (pass > 0) seconds.Add(watch.Elapsed.TotalSeconds);
        }
        optimizer.zero_grad();
        var left = minutes * 60 - setUp.TotalSeconds;
        return Math.Max(1, (int)(0.8 * left / seconds.Average()));
    }

    /// <summary>What a resumed run needs besides the trained weights and the optimizer's moments.</summary>
    /// <param name="Step">Steps done.</param>
    /// <param name="Minutes">Minutes spent so far, set-ups included.</param>
    /// <param name="Curve">The curve so far.</param>
    /// <param name="Options">The options of the run, its steps being the total it works towards.</param>
    private sealed record SavedState(int Step, double Minutes, IReadOnlyList<CurvePoint> Curve, AlignOptions Options);

    private void SaveState(IReadOnlyList<(string Name, Tensor Tensor)> trained, AdamW optimizer, SavedState state) =>
        AtomicFile.WriteDirectory(State!.ResumeFolder, overwrite: true, folder =>
        {
            ModuleWeights.SavePart(Path.Combine(folder, TrainedFile), trained);
            AtomicFile.Write(Path.Combine(folder, OptimizerFile), stream =>
            {
                using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                optimizer.save_state_dict(writer);
            });
            AtomicFile.WriteAllText(Path.Combine(folder, StateFile), JsonSerializer.Serialize(state, TrainingRecord.JsonOptions));
        });

    /// <summary>Restores the trained weights and the optimizer's moments of the saved state, after checking that it
    /// was saved by a run of the same options.</summary>
    private SavedState LoadState(IReadOnlyList<(string Name, Tensor Tensor)> trained, AdamW optimizer)
    {
        var path = State!.StatePath;
        SavedState state;
        try
        {
            state = JsonSerializer.Deserialize<SavedState>(File.ReadAllText(path), TrainingRecord.JsonOptions) ?? throw new CheckpointException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not a valid alignment state ({e.Message})", e);
        }
        if (state.Options with { Steps = options.Steps } != options)
            throw new OptionException($"{path}: saved by a run with other options ({state.Options}); resume with the options it was started with");
        ModuleWeights.LoadPart(Path.Combine(State.ResumeFolder, TrainedFile), trained);
        using var reader = new BinaryReader(File.OpenRead(Path.Combine(State.ResumeFolder, OptimizerFile)));
        optimizer.load_state_dict(reader);
        return state;
    }

    private List<(IReadOnlyList<Parameter> Parameters, double LearningRate)> ParameterGroups(DualEncoderPipeline model)
    {
        var groups = new List<(IReadOnlyList<Parameter>, double)>();
        if (options.Train.HasFlag(AlignedParts.Projections))
            groups.Add(([.. model.Parameters(ModelPart.ImageProjection), .. model.Parameters(ModelPart.TextProjection), .. model.Parameters(ModelPart.Temperature)],
                options.ProjectionLearningRate));
        else if (options.Train.HasFlag(AlignedParts.ImageProjection))
            groups.Add(([.. model.Parameters(ModelPart.ImageProjection), .. model.Parameters(ModelPart.Temperature)], options.ProjectionLearningRate));
        if (options.Train.HasFlag(AlignedParts.ImageTower))
        {
            var tower = model.Model.vision_model;
            groups.Add((tower.ParametersFromStage(tower.StageCount - options.UnlockedImageStages).ToList(), options.TowerLearningRate));
        }
        if (options.Train.HasFlag(AlignedParts.TextTower))
            groups.Add((model.Parameters(ModelPart.TextTower), options.TowerLearningRate));
        return groups;
    }

    /// <summary>The output of the frozen stages for every image, CPU, in the model's dtype: images in [0, 1] are
    /// resized to the model's input size, normalised, and run through the stem and the first stages.</summary>
    private Tensor ImageTrunks(DualEncoderPipeline model, int frozenStages, Func<IReadOnlyList<int>, Tensor> pixels, IReadOnlyList<int> indices,
        IProgress<AlignProgress>? progress)
    {
        const int batchSize = 64;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var parts = new List<Tensor>();
        for (var start = 0; start < indices.Count; start += batchSize)
        {
            using var batchScope = NewDisposeScope();
            var batch = pixels(indices.Skip(start).Take(batchSize).ToList()).to(model.Device.Device);
            if (batch.shape[^1] != model.ImageSize)
                batch = interpolate(batch, [model.ImageSize, model.ImageSize], mode: InterpolationMode.Bilinear, align_corners: false).ClampInPlace(0, 1);
            var input = model.Normalize(batch).to(model.Device.DType);
            var vision = model.Model.vision_model;
            var trunk = vision.Stages(vision.Stem(input), 0, frozenStages);
            // With the whole tower locked, only the pooled features reach the projection: keep those, 49 times less
            // memory than a ResNet's 7×7 map at 224 px.
            if (frozenStages == vision.StageCount) trunk = vision.Pool(trunk);
            parts.Add(trunk.cpu().MoveToOuterDisposeScope());
            progress?.Report(new AlignProgress(0, options.Steps, double.NaN, Encoded: (Math.Min(indices.Count, start + batchSize), indices.Count)));
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Image features from what the frozen stages gave (the pooled features when every stage is frozen).</summary>
    private static Tensor ImageHead(VisionTextDualEncoderModel model, Tensor trunks, int frozenStages)
    {
        var vision = model.vision_model;
        return model.visual_projection.forward(frozenStages == vision.StageCount ? trunks : vision.Pool(vision.Stages(trunks, frozenStages, vision.StageCount)));
    }

    private static Dictionary<string, double> Probe(VisionTextDualEncoderModel model, IReadOnlyList<ZeroShotProbe> probes, IReadOnlyList<Tensor> trunks,
        TextSide texts, int frozenStages)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var results = new Dictionary<string, double>();
        foreach (var (probe, trunk) in probes.Zip(trunks))
        {
            var imageFeatures = cat(Enumerable.Range(0, (int)Math.Ceiling(trunk.shape[0] / 256.0))
                .Select(b => ImageHead(model, trunk[(b * 256)..Math.Min((int)trunk.shape[0], (b + 1) * 256)].to(model.logit_scale.device), frozenStages)).ToList(), 0);
            // Each class's prompts averaged after normalisation, as open_clip's zero-shot classifier builds it.
            var classes = stack(probe.PromptsPerClass.Select(prompts => normalize(normalize(texts.Features(prompts), dim: -1).mean([0]), dim: 0)).ToList());
            var scores = normalize(imageFeatures, dim: -1).matmul(classes.t()).cpu();
            results[$"{probe.Name}_top1"] = ClassificationMetrics.Compute(scores, probe.Labels, probe.ClassNames).Top1;
        }
        return results;
    }

    /// <summary>Text features of captions: through the whole text side when the tower trains, else from pooled
    /// features computed once per distinct caption, through the (possibly training) projection.</summary>
    private sealed class TextSide : IDisposable
    {
        private readonly DualEncoderPipeline model;
        private readonly Dictionary<string, int>? rowOf;
        private readonly Tensor? pooled;

        public TextSide(DualEncoderPipeline model, bool trains, IEnumerable<string> captions, IProgress<AlignProgress>? progress, int totalSteps)
        {
            this.model = model;
            if (trains) return;
            var distinct = captions.Distinct(StringComparer.Ordinal).ToList();
            progress?.Report(new AlignProgress(0, totalSteps, double.NaN, $"encoding {distinct.Count} distinct captions with the locked text tower"));
            rowOf = distinct.Select((caption, row) => (caption, row)).ToDictionary(pair => pair.caption, pair => pair.row, StringComparer.Ordinal);
            using var _ = no_grad();
            var parts = new List<Tensor>();
            for (var start = 0; start < distinct.Count; start += 256)
            {
                using var scope = NewDisposeScope();
                var ids = model.Tokenize(distinct.Skip(start).Take(256).ToList()).to(model.Device.Device);
                parts.Add(model.Model.text_model.Pool(ids).cpu().MoveToOuterDisposeScope());
                progress?.Report(new AlignProgress(0, totalSteps, double.NaN, Encoded: (Math.Min(distinct.Count, start + 256), distinct.Count)));
            }
            pooled = cat(parts, 0).DetachFromDisposeScope();
        }

        public Tensor Features(IReadOnlyList<string> captions)
        {
            if (pooled is null) return model.TextFeatures(model.Tokenize(captions).to(model.Device.Device));
            var rows = tensor(captions.Select(caption => (long)rowOf![caption]).ToArray());
            return model.Model.text_projection.forward(pooled.index_select(0, rows).to(model.Device.Device));
        }

        public void Dispose() => pooled?.Dispose();
    }
}
