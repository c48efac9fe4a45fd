using System.Text.Json.Nodes;
using Molyneux.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Molyneux.Tests.Checkpoints;

/// <summary>Sharded checkpoints (<c>model.safetensors.index.json</c> + shards), written here from the golden HF
/// model_a split in two, as transformers' save_pretrained splits a large model.</summary>
public sealed class ShardedSafetensorsTests
{
    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    /// <summary>model_a's config.json, its tensors in two shards (alternately) and the index; returns the weight map.</summary>
    private static JsonObject WriteShardedModelA(string folder)
    {
        File.Copy(TestPaths.GoldenClip("model_a/hf/config.json"), Path.Combine(folder, "config.json"));
        using var golden = SafetensorsFile.Open(TestPaths.GoldenClip("model_a/hf/model.safetensors.gz"));
        var names = golden.Entries.Keys.Order(StringComparer.Ordinal).ToList();
        var map = new JsonObject();
        foreach (var (shard, part) in new[] { (Shard1, 0), (Shard2, 1) })
        {
            var mine = names.Where((_, index) => index % 2 == part).ToList();
            using var scope = NewDisposeScope();
            SafetensorsFile.Write(Path.Combine(folder, shard), mine.Select(name => new KeyValuePair<string, Tensor>(name, golden.Read(name))),
                new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var name in mine) map[name] = shard;
        }
        WriteIndex(folder, map);
        return map;
    }

    private static void WriteIndex(string folder, JsonObject map) =>
        File.WriteAllText(Path.Combine(folder, SafetensorsWeights.IndexFileName),
            new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = 0 }, ["weight_map"] = map.DeepClone() }.ToJsonString());

    [Fact]
    public void A_two_shard_model_loads_with_the_same_weights_as_the_single_file()
    {
        using var folder = new TestPaths.TempFolder();
        WriteShardedModelA(folder.Path);

        using var sharded = ClipCheckpoint.Load(folder.Path);
        using var single = ClipCheckpoint.Load(TestPaths.GoldenClip("model_a/hf"));

        Assert.Equal("huggingface directory (sharded)", sharded.Source!.Layout);
        Assert.EndsWith(SafetensorsWeights.IndexFileName, sharded.Source.WeightsPath);
        var expected = single.Model.state_dict();
        foreach (var (name, tensor) in sharded.Model.state_dict())
            Assert.True(TensorAssert.Identical(expected[name], tensor), $"{name} differs");
        using var features = sharded.EncodeTexts(["a red circle"]);
        using var reference = single.EncodeTexts(["a red circle"]);
        Assert.True(TensorAssert.Identical(reference, features));
    }

    [Fact]
    public void A_missing_shard_is_named_with_the_index()
    {
        using var folder = new TestPaths.TempFolder();
        WriteShardedModelA(folder.Path);
        File.Delete(folder.File(Shard2));

        var error = Assert.Throws<CheckpointException>(() => ClipCheckpoint.Load(folder.Path));
        Assert.StartsWith(folder.File(SafetensorsWeights.IndexFileName), error.Message);
        Assert.Contains($"shard '{Shard2}' is missing", error.Message);
    }

    [Fact]
    public void A_tensor_the_index_places_in_a_shard_that_lacks_it_is_named_with_its_shard()
    {
        using var folder = new TestPaths.TempFolder();
        var map = WriteShardedModelA(folder.Path);
        map["text_model.extra.weight"] = Shard1;
        WriteIndex(folder.Path, map);

        var error = Assert.Throws<CheckpointException>(() => ClipCheckpoint.Load(folder.Path));
        Assert.StartsWith(folder.File(SafetensorsWeights.IndexFileName), error.Message);
        Assert.Contains($"1 tensor listed in the index are not in their shard: text_model.extra.weight (in {Shard1})", error.Message);
    }

    [Fact]
    public void A_tensor_in_a_shard_that_the_index_does_not_list_is_refused()
    {
        using var folder = new TestPaths.TempFolder();
        var map = WriteShardedModelA(folder.Path);
        var dropped = map.First(entry => entry.Value!.GetValue<string>() == Shard2).Key;
        map.Remove(dropped);
        WriteIndex(folder.Path, map);

        var error = Assert.Throws<CheckpointException>(() => ClipCheckpoint.Load(folder.Path));
        Assert.Contains($"in a shard are not in the index's weight_map: {dropped} (in {Shard2})", error.Message);
    }

    [Theory]
    [InlineData("../model.safetensors")]
    [InlineData("/etc/passwd")]
    public void A_shard_name_outside_the_folder_is_refused(string shard)
    {
        using var folder = new TestPaths.TempFolder();
        var map = WriteShardedModelA(folder.Path);
        map[map.First().Key] = shard;
        WriteIndex(folder.Path, map);

        var error = Assert.Throws<CheckpointException>(() => ClipCheckpoint.Load(folder.Path));
        Assert.Contains($"names '{shard}', which is not a file inside the index's folder", error.Message);
    }

    [Theory]
    [InlineData("""{"metadata": {}}""", "expected a JSON object with a 'weight_map' object")]
    [InlineData("""{"weight_map": {"a": 3}}""", "weight_map['a'] is 3, expected a shard file name")]
    [InlineData("""{"weight_map": {}}""", "weight_map is empty")]
    [InlineData("""{"weight_map": """, "not a valid index")]
    public void A_malformed_index_is_refused_by_name(string index, string expected)
    {
        using var folder = new TestPaths.TempFolder();
        File.WriteAllText(folder.File(SafetensorsWeights.IndexFileName), index);

        var error = Assert.Throws<CheckpointException>(() => SafetensorsWeights.Open(folder.File(SafetensorsWeights.IndexFileName)));
        Assert.StartsWith(folder.File(SafetensorsWeights.IndexFileName), error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void The_content_hash_of_a_sharded_checkpoint_covers_its_shards_and_of_a_file_is_its_sha256()
    {
        using var folder = new TestPaths.TempFolder();
        WriteShardedModelA(folder.Path);
        var index = folder.File(SafetensorsWeights.IndexFileName);
        var before = SafetensorsWeights.HashContent(index);

        // The same index over shards with other values (a fine-tuned copy) must not hash the same.
        using (var scope = NewDisposeScope())
        {
            using var shard = SafetensorsFile.Open(folder.File(Shard2));
            var changed = shard.Entries.Keys.Select(name => new KeyValuePair<string, Tensor>(name, shard.Read(name).add(1))).ToList();
            SafetensorsFile.Write(folder.File(Shard2 + ".new"), changed);
        }
        File.Move(folder.File(Shard2 + ".new"), folder.File(Shard2), overwrite: true);

        Assert.NotEqual(before, SafetensorsWeights.HashContent(index));
        var single = folder.File(Shard1);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(single))), SafetensorsWeights.HashContent(single));
    }

    [Fact]
    public void Module_weights_read_a_sharded_checkpoint_tensor_by_tensor()
    {
        using var folder = new TestPaths.TempFolder();
        using var source = nn.Linear(3, 2);
        SafetensorsFile.Write(folder.File("a.safetensors"), [new("weight", source.weight!.detach())]);
        SafetensorsFile.Write(folder.File("b.safetensors"), [new("bias", source.bias!.detach())]);
        WriteIndex(folder.Path, new JsonObject { ["weight"] = "a.safetensors", ["bias"] = "b.safetensors" });
        Assert.Equal(folder.File(SafetensorsWeights.IndexFileName), SafetensorsWeights.FindInFolder(folder.Path));

        using var target = nn.Linear(3, 2);
        ModuleWeights.Load(target, SafetensorsWeights.FindInFolder(folder.Path)!, name => name, _ => false);

        Assert.True(TensorAssert.Identical(source.weight!.detach(), target.weight!.detach()));
        Assert.True(TensorAssert.Identical(source.bias!.detach(), target.bias!.detach()));
    }
}
