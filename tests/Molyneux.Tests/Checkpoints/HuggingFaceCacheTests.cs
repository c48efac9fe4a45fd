using Molyneux.Checkpoints;

namespace Molyneux.Tests.Checkpoints;

/// <summary>Hub ids found offline in a fake Hugging Face cache laid out as huggingface_hub lays it out
/// (models--org--name/refs/main → snapshots/&lt;commit&gt;/), with the environment passed in rather than set.</summary>
public sealed class HuggingFaceCacheTests
{
    private const string Commit = "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268";
    private const string Older = "e6a30b603a447e251fdaca1c3056b2a16cdfebeb";

    /// <summary>hub/models--openai--clip-vit-base-patch32 with refs/main → <see cref="Commit"/>, and two snapshots.</summary>
    private static string FakeCache(string root, string hub = "hub")
    {
        var repo = Path.Combine(root, hub, "models--openai--clip-vit-base-patch32");
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), Commit);  // written without a newline, as huggingface_hub does
        foreach (var commit in new[] { Commit, Older })
            Directory.CreateDirectory(Path.Combine(repo, "snapshots", commit));
        return repo;
    }

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(variable => variable.Name == name).Value;

    [Fact]
    public void A_hub_id_resolves_to_the_snapshot_refs_main_names_under_HF_HOME()
    {
        using var home = new TestPaths.TempFolder();
        var repo = FakeCache(home.Path);

        var resolved = HuggingFaceCache.ResolveModelPath("openai/clip-vit-base-patch32", Environment(("HF_HOME", home.Path)));

        Assert.Equal(Path.Combine(repo, "snapshots", Commit), resolved);
    }

    [Fact]
    public void The_cache_folder_follows_huggingface_hub_precedence()
    {
        Assert.Equal(("/c/hub-cache", "HF_HUB_CACHE"), HuggingFaceCache.HubFolder(Environment(("HF_HUB_CACHE", "/c/hub-cache"), ("HF_HOME", "/h"))));
        Assert.Equal(("/c/legacy", "HUGGINGFACE_HUB_CACHE"), HuggingFaceCache.HubFolder(Environment(("HUGGINGFACE_HUB_CACHE", "/c/legacy"), ("HF_HOME", "/h"))));
        Assert.Equal((Path.Combine("/h", "hub"), "HF_HOME"), HuggingFaceCache.HubFolder(Environment(("HF_HOME", "/h"), ("XDG_CACHE_HOME", "/x"))));
        Assert.Equal((Path.Combine("/x", "huggingface", "hub"), "XDG_CACHE_HOME"), HuggingFaceCache.HubFolder(Environment(("XDG_CACHE_HOME", "/x"), ("HOME", "/u"))));
        Assert.Equal(Path.Combine("/u", ".cache", "huggingface", "hub"), HuggingFaceCache.HubFolder(Environment(("HOME", "/u"))).Folder);
        // "~" is expanded as Python's expanduser does; an empty variable counts as unset.
        Assert.Equal(Path.Combine("/u", "hf", "hub"), HuggingFaceCache.HubFolder(Environment(("HF_HUB_CACHE", ""), ("HF_HOME", "~/hf"), ("HOME", "/u"))).Folder);
    }

    [Fact]
    public void A_revision_after_the_id_is_a_commit_or_a_ref()
    {
        using var cache = new TestPaths.TempFolder();
        var repo = FakeCache(cache.Path, hub: "");
        var environment = Environment(("HF_HUB_CACHE", cache.Path));
        File.WriteAllText(Path.Combine(repo, "refs", "v1"), Older + "\n");

        Assert.Equal(Path.Combine(repo, "snapshots", Older), HuggingFaceCache.ResolveModelPath($"openai/clip-vit-base-patch32@{Older}", environment));
        Assert.Equal(Path.Combine(repo, "snapshots", Older), HuggingFaceCache.ResolveModelPath("openai/clip-vit-base-patch32@v1", environment));
    }

    [Fact]
    public void An_absent_model_names_where_it_was_looked_for()
    {
        using var home = new TestPaths.TempFolder();
        FakeCache(home.Path);

        var error = Assert.Throws<CheckpointException>(() =>
            HuggingFaceCache.ResolveModelPath("openai/clip-vit-large-patch14", Environment(("HF_HOME", home.Path))));

        Assert.StartsWith("openai/clip-vit-large-patch14: no such file or folder, and not in the Hugging Face cache", error.Message);
        Assert.Contains(Path.Combine(home.Path, "hub", "models--openai--clip-vit-large-patch14"), error.Message);
        Assert.Contains("from HF_HOME", error.Message);
    }

    [Fact]
    public void A_missing_ref_or_snapshot_lists_the_cached_snapshots()
    {
        using var home = new TestPaths.TempFolder();
        var repo = FakeCache(home.Path);
        var environment = Environment(("HF_HOME", home.Path));

        var noRef = Assert.Throws<CheckpointException>(() => HuggingFaceCache.ResolveModelPath("openai/clip-vit-base-patch32@dev", environment));
        Assert.Contains($"no revision 'dev' of openai/clip-vit-base-patch32: {Path.Combine(repo, "refs", "dev")} does not exist", noRef.Message);
        Assert.Contains($"cached snapshots: {Commit}, {Older}", noRef.Message);

        Directory.Delete(Path.Combine(repo, "snapshots", Commit));
        var noSnapshot = Assert.Throws<CheckpointException>(() => HuggingFaceCache.ResolveModelPath("openai/clip-vit-base-patch32", environment));
        Assert.Contains($"no snapshot {Commit}", noSnapshot.Message);
        Assert.Contains($"cached snapshots: {Older}", noSnapshot.Message);
    }

    [Fact]
    public void Existing_paths_and_text_that_is_no_hub_id_are_left_to_the_loader()
    {
        using var folder = new TestPaths.TempFolder();
        Directory.CreateDirectory(folder.File("org"));
        Directory.CreateDirectory(Path.Combine(folder.Path, "org", "name"));
        var never = Environment(("HF_HOME", "/nonexistent"));

        var local = Path.Combine(folder.Path, "org", "name");
        Assert.Equal(local, HuggingFaceCache.ResolveModelPath(local, never));
        foreach (var path in new[] { "model.safetensors", "./org/name", "org/name/extra", "../org/name", "org/../name" })
            Assert.Equal(path, HuggingFaceCache.ResolveModelPath(path, never));
    }

    [Fact]
    public void A_cached_snapshot_loads_as_a_model()
    {
        using var home = new TestPaths.TempFolder();
        var snapshot = Path.Combine(FakeCache(home.Path), "snapshots", Commit);
        foreach (var file in new[] { "config.json", "model.safetensors.gz" })
            File.Copy(TestPaths.GoldenClip($"model_a/hf/{file}"), Path.Combine(snapshot, file));

        var resolved = HuggingFaceCache.ResolveModelPath("openai/clip-vit-base-patch32", Environment(("HF_HOME", home.Path)));
        using var clip = ClipCheckpoint.Load(resolved);

        Assert.Equal(Path.GetFullPath(snapshot), clip.Source!.Path);
    }
}
