using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.KnowledgeTransfer;

/// <summary>The shape of the LoRA adapters: rank r and α, the update being scaled by α/r. The default α = r (scale 1)
/// follows Hu et al., who set α to the first r they tried and left it.</summary>
public sealed record LoraOptions(int Rank = 8, double Alpha = 8)
{
    public double Scale => Alpha / Rank;

    public void Validate()
    {
        if (Rank < 1) throw new OptionException($"--lora-rank: must be at least 1, got {Rank}");
        if (!(Alpha > 0)) throw new OptionException($"--lora-alpha: must be positive, got {Alpha}");
    }
}

/// <summary>LoRA (Hu et al., 2021) on the image tower: each attention projection (q, k, v, out) and MLP layer
/// (fc1, fc2) of the vision encoder computes h = W x + b + (α/r)·B A x (their Eq. 3), with A [r, in] drawn from
/// N(0, 1/in) and B [out, r] zero, so an adapted model starts out exactly as the original. Only A and B train.
///
/// The adapters stay outside the model, attached by forward hooks, so the model's parameters keep their HF names
/// throughout and W is untouched until <see cref="Merge"/> folds W ← W + (α/r)·B A into it; after that the model
/// is an ordinary CLIP, saved like any other. Disposing without merging detaches the adapters and leaves the
/// original model.</summary>
public sealed class Lora : IDisposable
{
    private static readonly string[] AdaptedLayers =
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2"];

    private readonly IReadOnlyList<Adapter> adapters;
    private bool detached;

    private Lora(IReadOnlyList<Adapter> adapters) => this.adapters = adapters;

    /// <summary>The adapted layers' parameter-name prefixes, e.g. <c>vision_model.encoder.layers.0.self_attn.q_proj</c>.</summary>
    public IReadOnlyList<string> LayerNames => adapters.Select(adapter => adapter.Name).ToList();

    /// <summary>A and B of every adapter: what fine-tuning trains.</summary>
    public IReadOnlyList<Parameter> Parameters => adapters.SelectMany(adapter => new[] { adapter.A, adapter.B }).ToList();

    /// <summary>Adapts every vision-encoder projection of <paramref name="model"/>; A is drawn from a generator seeded
    /// with <paramref name="seed"/>.</summary>
    public static Lora Attach(ClipModel model, LoraOptions options, long seed)
    {
        options.Validate();
        var generator = new Generator((ulong)seed);
        var layers = model.named_modules()
            .Where(entry => entry.name.StartsWith("vision_model.encoder.layers.", StringComparison.Ordinal)
                            && AdaptedLayers.Any(layer => entry.name.EndsWith("." + layer, StringComparison.Ordinal)))
            .Select(entry => (entry.name, Layer: (Linear)entry.module))
            .ToList();
        var expected = model.Config.Vision.NumHiddenLayers * AdaptedLayers.Length;
        if (layers.Count != expected)
            throw new InvalidOperationException($"LoRA found {layers.Count} of the image tower's {expected} projections; has ClipModel renamed them?");
        return new Lora(layers.Select(entry => new Adapter(entry.name, entry.Layer, options, generator)).ToList());
    }

    /// <summary>W ← W + (α/r)·B A in every adapted layer, then detaches the adapters: the model computes what it
    /// computed with them, now with its own weights alone.</summary>
    public void Merge()
    {
        ObjectDisposedException.ThrowIf(detached, this);
        foreach (var adapter in adapters) adapter.Merge();
        Dispose();
    }

    public void Dispose()
    {
        if (detached) return;
        detached = true;
        foreach (var adapter in adapters) adapter.Dispose();
    }

    private sealed class Adapter : IDisposable
    {
        private readonly Linear layer;
        private readonly double scale;
        private readonly Module<Tensor, Tensor>.HookRemover hook;

        public Adapter(string name, Linear layer, LoraOptions options, Generator generator)
        {
            Name = name;
            this.layer = layer;
            scale = options.Scale;
            var weight = layer.weight!;
            var (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1]);
            using (NewDisposeScope())
            {
                var a = randn([options.Rank, inFeatures], generator: generator).div_(Math.Sqrt(inFeatures));
                A = new Parameter(a.to(weight.dtype, weight.device).DetachFromDisposeScope());
                B = new Parameter(zeros([outFeatures, options.Rank], weight.dtype, weight.device).DetachFromDisposeScope());
            }
            hook = layer.register_forward_hook((_, input, output) =>
                output.Plus(functional.linear(functional.linear(input, A), B).Times(scale)));
        }

        public string Name { get; }

        public Parameter A { get; }

        public Parameter B { get; }

        public void Merge()
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            layer.weight!.add_(B.matmul(A).Times(scale), LiveScalars.One);
        }

        public void Dispose()
        {
            hook.remove();
            A.Dispose();
            B.Dispose();
        }
    }
}
