using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using Molyneux.Modeling;
using Molyneux.Worlds;

namespace Molyneux.Tests.Build;

/// <summary>Which of the library's folders (namespaces) use which, read from its sources: `using Molyneux.X;` and
/// qualified names `X.Type` outside doc comments. The layers the architecture issue asked for are kept here: the
/// training primitives use nothing above them, Knowledge Transfer sits on the model interface and evaluation and
/// never on a world or on pretraining, and no two namespaces use each other beyond the cycles listed, which are known
/// and waiting to be untangled; a new cycle fails, and an untangled one must be taken off the list.</summary>
public sealed partial class LayeringTests
{
    private static readonly string Source = Path.Combine(TestPaths.RepositoryRoot, "src", "Molyneux");

    /// <summary>The cycles left (issue #18): checkpoints, ONNX import and ASIF's encoders build models and models name
    /// their loaders, and the loader of every kind knows CoCa's.</summary>
    private static readonly HashSet<(string, string)> KnownCycles =
    [
        ("Asif", "Checkpoints"), ("Asif", "Modeling"), ("Asif", "Onnx"), ("Captioning", "Checkpoints"),
        ("Checkpoints", "Imaging"), ("Checkpoints", "Modeling"), ("Checkpoints", "Onnx"), ("Modeling", "Onnx"),
    ];

    [GeneratedRegex(@"^namespace Molyneux(?:\.(\w+))?", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"^using Molyneux\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    private static Dictionary<string, HashSet<string>> Dependencies()
    {
        var files = Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        var namespaces = files.Select(file => NamespaceLine().Match(File.ReadAllText(file)).Groups[1].Value).Where(name => name.Length > 0).ToHashSet();
        var qualified = new Regex($@"\b({string.Join("|", namespaces)})\.[A-Z]\w*");
        var dependencies = namespaces.ToDictionary(name => name, _ => new HashSet<string>());
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            var own = NamespaceLine().Match(text).Groups[1].Value;
            if (own.Length == 0) continue;
            var code = string.Join("\n", text.Split('\n').Where(line => !line.TrimStart().StartsWith("///", StringComparison.Ordinal)));
            foreach (var used in UsingLine().Matches(code).Select(m => m.Groups[1].Value).Concat(qualified.Matches(code).Select(m => m.Groups[1].Value)))
                if (used != own && namespaces.Contains(used)) dependencies[own].Add(used);
        }
        return dependencies;
    }

    [Fact]
    public void The_training_primitives_use_only_the_runtime_and_the_model_interface()
    {
        var dependencies = Dependencies();
        Assert.Subset(new HashSet<string> { "Runtime", "Modeling" }, dependencies["Training"]);
    }

    [Fact]
    public void Knowledge_transfer_never_uses_pretraining_and_evaluation_never_uses_knowledge_transfer()
    {
        var dependencies = Dependencies();
        Assert.DoesNotContain("Pretraining", dependencies["KnowledgeTransfer"]);
        Assert.DoesNotContain("KnowledgeTransfer", dependencies["Evaluation"]);
        Assert.DoesNotContain("KnowledgeTransfer", dependencies["Captioning"]);
    }

    /// <summary>The worlds (emoji, shapes), their installer and default models live in Molyneux.Worlds, at the edge: the
    /// core library's compiled metadata references neither that assembly nor a type that starts a process.</summary>
    [Fact]
    public void The_core_library_names_no_world_and_runs_no_external_program()
    {
        var core = References(typeof(ClipModel).Assembly);
        var worlds = References(typeof(ShapesWorld).Assembly);
        Assert.Contains("TorchSharp", core.Assemblies);
        Assert.DoesNotContain(typeof(ShapesWorld).Assembly.GetName().Name, core.Assemblies);
        Assert.DoesNotContain(core.Types, type => type.StartsWith("Molyneux.Worlds", StringComparison.Ordinal));
        // The worlds' installer runs npm, so the name looked for is one that does occur where processes start.
        Assert.Contains("System.Diagnostics.ProcessStartInfo", worlds.Types);
        Assert.DoesNotContain("System.Diagnostics.ProcessStartInfo", core.Types);
        Assert.DoesNotContain("System.Diagnostics.Process", core.Types);
    }

    /// <summary>The assemblies and the types (namespace.name) an assembly's metadata references.</summary>
    private static (List<string> Assemblies, List<string> Types) References(System.Reflection.Assembly assembly)
    {
        using var stream = File.OpenRead(assembly.Location);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var assemblies = metadata.AssemblyReferences.Select(handle => metadata.GetString(metadata.GetAssemblyReference(handle).Name)).ToList();
        var types = metadata.TypeReferences.Select(handle => metadata.GetTypeReference(handle))
            .Select(type => $"{metadata.GetString(type.Namespace)}.{metadata.GetString(type.Name)}").ToList();
        return (assemblies, types);
    }

    [Fact]
    public void No_two_namespaces_use_each_other_beyond_the_known_cycles()
    {
        var dependencies = Dependencies();
        var cycles = dependencies.SelectMany(entry => entry.Value.Where(other => string.CompareOrdinal(entry.Key, other) < 0 && dependencies[other].Contains(entry.Key))
            .Select(other => (entry.Key, other))).ToHashSet();
        Assert.Empty(cycles.Except(KnownCycles).Select(cycle => $"{cycle.Item1} <-> {cycle.Item2} (new)"));
        Assert.Empty(KnownCycles.Except(cycles).Select(cycle => $"{cycle.Item1} <-> {cycle.Item2} is gone: take it off KnownCycles"));
    }
}
