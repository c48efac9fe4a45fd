using static TorchSharp.torch;

namespace Molyneux.Checkpoints;

/// <summary>Strict loading and saving of a module's parameters in a safetensors file whose tensor names are a function
/// of the module's own: the identity for modules that carry Hugging Face's names, a renaming for those built from
/// shared blocks (a ViT or BERT layer made of CLIP's attention and MLP). Loading checks that the file has exactly the
/// module's tensors with the module's shapes and reports every missing, unexpected or mis-shaped one by name.</summary>
public static class ModuleWeights
{
    /// <param name="weightsPath">A safetensors file, or the index of a sharded checkpoint (<see cref="SafetensorsWeights"/>).</param>
    /// <param name="fileNameOf">The name in the file of the module parameter with this name.</param>
    /// <param name="isIgnorable">File tensors that may be present without a parameter to receive them (buffers old
    /// exports carry, heads the encoder does not use).</param>
    /// <param name="withBuffers">Also load the module's buffers (BatchNorm's running statistics).</param>
    /// <param name="model">The module that receives the weights, in place; every parameter must be found in the file.</param>
    public static void Load(nn.Module model, string weightsPath, Func<string, string> fileNameOf, Func<string, bool> isIgnorable, bool withBuffers = false)
    {
        using var file = SafetensorsWeights.Open(weightsPath);
        var parameters = State(model, withBuffers).Select(entry => (entry.Name, parameter: entry.Tensor, stored: fileNameOf(entry.Name))).ToList();
        var missing = new List<string>();
        var misShaped = new List<string>();
        foreach (var (_, parameter, stored) in parameters)
        {
            if (!file.Entries.TryGetValue(stored, out var entry))
                missing.Add(stored);
            else if (!entry.Shape.SequenceEqual(parameter.shape))
                misShaped.Add($"{stored}: file [{string.Join(", ", entry.Shape)}], model [{string.Join(", ", parameter.shape)}]");
        }
        var used = parameters.Select(entry => entry.stored).ToHashSet(StringComparer.Ordinal);
        var unexpected = file.Entries.Keys.Where(name => !used.Contains(name) && !isIgnorable(name)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count + misShaped.Count + unexpected.Count > 0)
            throw new CheckpointException($"{weightsPath}: does not fit the model: " + string.Join("; ", new[]
            {
                Describe("missing", missing), Describe("unexpected", unexpected), Describe("with the wrong shape", misShaped),
            }.Where(part => part.Length > 0)));
        using var _ = no_grad();
        foreach (var (_, parameter, stored) in parameters)
        {
            using var tensor = file.Read(stored);
            parameter.copy_(tensor.to(parameter.dtype));
        }
    }

    /// <summary>Copies tensors named as the module names its own into the module's parameters (and its buffers but
    /// the BatchNorm step counters, with <paramref name="withBuffers"/>), strictly: nothing is copied unless every
    /// target is found with its shape and every tensor has a target. Returns what did not fit, described with
    /// <paramref name="displayName"/>'s names, or "" when all did (what an import maps, rather than a file holds).</summary>
    internal static string CopyInto(nn.Module model, IReadOnlyDictionary<string, Tensor> tensors, bool withBuffers, Func<string, string> displayName)
    {
        var targets = model.named_parameters().Select(entry => (entry.name, Tensor: (Tensor)entry.parameter));
        if (withBuffers) targets = targets.Concat(model.named_buffers().Where(entry => !entry.name.EndsWith("num_batches_tracked", StringComparison.Ordinal)));
        var targetList = targets.ToList();
        var missing = new List<string>();
        var misShaped = new List<string>();
        foreach (var (name, target) in targetList)
        {
            if (!tensors.TryGetValue(name, out var found)) missing.Add(displayName(name));
            else if (!found.shape.SequenceEqual(target.shape))
                misShaped.Add($"{displayName(name)}: [{string.Join(", ", found.shape)}], expected [{string.Join(", ", target.shape)}]");
        }
        var used = targetList.Select(entry => entry.name).ToHashSet(StringComparer.Ordinal);
        var unexpected = tensors.Keys.Where(name => !used.Contains(name)).Order(StringComparer.Ordinal).Select(displayName).ToList();
        if (missing.Count + misShaped.Count + unexpected.Count > 0)
            return string.Join("; ", new[] { Describe("not found", missing), Describe("unexpected", unexpected), Describe("with the wrong shape", misShaped) }
                .Where(part => part.Length > 0));
        using var _ = no_grad();
        foreach (var (name, target) in targetList) target.copy_(tensors[name]);
        return "";
    }

    /// <summary>Writes some of a model's tensors under the names given (a part of it: its projections, what a run
    /// trains), atomically.</summary>
    public static void SavePart(string path, IEnumerable<(string Name, Tensor Tensor)> part) =>
        SafetensorsFile.Write(path, part.Select(entry => new KeyValuePair<string, Tensor>(entry.Name, entry.Tensor)));

    /// <summary>Copies the tensors of a <see cref="SavePart"/> file into the model's tensors of the same names; a
    /// missing tensor or one of another shape is named with the file.</summary>
    public static void LoadPart(string path, IEnumerable<(string Name, Tensor Target)> part)
    {
        using var file = SafetensorsFile.Open(path);
        using var _ = no_grad();
        foreach (var (name, target) in part)
        {
            using var stored = file.Read(name);
            if (!stored.shape.SequenceEqual(target.shape))
                throw new CheckpointException($"{path}: '{name}' is [{string.Join(", ", stored.shape)}] but the model's is [{string.Join(", ", target.shape)}]");
            target.copy_(stored);
        }
    }

    /// <summary>Writes every parameter under its file name, atomically, with HF's <c>format: pt</c> metadata.</summary>
    public static void Save(nn.Module model, string weightsPath, Func<string, string> fileNameOf, bool withBuffers = false) =>
        SafetensorsFile.Write(weightsPath,
            State(model, withBuffers).Select(entry => new KeyValuePair<string, Tensor>(fileNameOf(entry.Name), entry.Tensor.detach().cpu())),
            new Dictionary<string, string> { ["format"] = "pt" });

    private static IEnumerable<(string Name, Tensor Tensor)> State(nn.Module model, bool withBuffers)
    {
        var parameters = model.named_parameters().Select(entry => (entry.name, (Tensor)entry.parameter));
        return withBuffers ? parameters.Concat(model.named_buffers().Select(entry => (entry.name, entry.buffer))) : parameters;
    }

    /// <summary>"3 tensors missing: a, b, c", at most 20 names listed; empty when there are none.</summary>
    internal static string Describe(string problem, List<string> names)
    {
        const int shown = 20;
        if (names.Count == 0) return "";
        var listed = string.Join(", ", names.Take(shown)) + (names.Count > shown ? $", … and {names.Count - shown} more" : "");
        return $"{names.Count} tensor{(names.Count == 1 ? "" : "s")} {problem}: {listed}";
    }
}
