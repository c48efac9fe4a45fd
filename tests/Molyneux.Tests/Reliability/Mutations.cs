using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace Molyneux.Tests.Reliability;

/// <summary>A generated input: the bytes a parser reads and how they were made from a valid seed, which is what a
/// failing fuzz test prints.</summary>
internal sealed record Mutant(string Recipe, byte[] Bytes)
{
    public override string ToString() => $"{Recipe} ({Bytes.Length} bytes)";
}

/// <summary>Generators of broken inputs for the fuzz tests: byte-level edits of a valid file (what disk corruption
/// and truncated downloads do), structural edits of a valid JSON document (what a hand-edited or wrongly exported
/// file does), and random JSON.</summary>
internal static class Mutations
{
    /// <summary>The edges of the integer types parsers convert to, and small values one off from valid sizes.</summary>
    public static readonly long[] InterestingIntegers =
    [
        0, 1, -1, 2, 3, 4, 7, 8, 16, 31, 32, 63, 64, 77, 224, 255, 256, 65535, 65536, 100_000_000, 100_000_001,
        int.MaxValue, (long)int.MaxValue + 1, int.MinValue, uint.MaxValue, 1L << 32, 1L << 53, long.MaxValue, long.MinValue,
    ];

    /// <summary>Number spellings JSON allows that do not fit the usual .NET types, next to ordinary ones.</summary>
    private static readonly string[] InterestingNumbers =
    [
        "0", "-0", "1", "-1", "2", "3", "7", "8", "12", "64", "77", "224", "0.5", "1.5", "-0.0", "1E2", "1e-5",
        "2147483647", "2147483648", "-2147483649", "4294967296", "9007199254740993", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e400", "-1e400", "1e-400",
    ];

    private static readonly string[] InterestingStrings =
    [
        "", " ", "F32", "BF16", "I64", "BOOL", "F8_E4M3", "f32", "quick_gelu", "gelu", "relu", "CLIPModel", "a</w>",
        "<|endoftext|>", "<|startoftext|>", "\u0000", "\uD800", "é", "🐈", new string('a', 1000),
    ];

    /// <summary>One to three byte edits of <paramref name="seed"/>, applied in turn.</summary>
    public static Gen<Mutant> Bytes(string seedName, byte[] seed) =>
        from edits in Gen.Choose(1, 3).SelectMany(count => Gen.ListOf(ByteEdit, count))
        select edits.Aggregate(new Mutant(seedName, seed), (mutant, edit) =>
        {
            var (recipe, bytes) = edit(mutant.Bytes);
            return new Mutant($"{mutant.Recipe}; {recipe}", bytes);
        });

    /// <summary>A byte edit as a function of the bytes it edits; positions are drawn large and reduced modulo the
    /// length at hand, so edits can be generated before the length they apply to is known.</summary>
    private static Gen<Func<byte[], (string Recipe, byte[] Bytes)>> ByteEdit { get; } = Gen.OneOf(
        from at in Gen.Choose(0, int.MaxValue)
        from value in Gen.Choose(0, 255)
        select Edit(bytes => bytes.Length == 0 ? ("set nothing (empty)", bytes) : Set(bytes, at % bytes.Length, (byte)value)),
        from at in Gen.Choose(0, int.MaxValue)
        select Edit(bytes => ($"truncate to {at % (bytes.Length + 1)}", bytes[..(at % (bytes.Length + 1))])),
        from at in Gen.Choose(0, int.MaxValue)
        from count in Gen.Choose(1, 64)
        select Edit(bytes =>
        {
            var start = at % (bytes.Length + 1);
            var end = Math.Min(bytes.Length, start + count);
            return ($"delete bytes {start}..{end}", [.. bytes[..start], .. bytes[end..]]);
        }),
        from at in Gen.Choose(0, int.MaxValue)
        from inserted in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b))
        select Edit(bytes =>
        {
            var start = at % (bytes.Length + 1);
            return ($"insert {Convert.ToHexString(inserted)} at {start}", [.. bytes[..start], .. inserted, .. bytes[start..]]);
        }),
        from source in Gen.Choose(0, int.MaxValue)
        from destination in Gen.Choose(0, int.MaxValue)
        from count in Gen.Choose(1, 256)
        select Edit(bytes =>
        {
            var start = source % (bytes.Length + 1);
            var chunk = bytes[start..Math.Min(bytes.Length, start + count)];
            var target = destination % (bytes.Length + 1);
            return ($"copy bytes {start}..{start + chunk.Length} to {target}", [.. bytes[..target], .. chunk, .. bytes[target..]]);
        }),
        from at in Gen.Choose(0, int.MaxValue)
        from value in Gen.Elements(InterestingIntegers)
        from width in Gen.Elements(1, 2, 4, 8)
        select Edit(bytes =>
        {
            if (bytes.Length < width) return ("write nothing (too short)", bytes);
            var start = at % (bytes.Length - width + 1);
            var copy = bytes.ToArray();
            Span<byte> word = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(word, value);
            word[..width].CopyTo(copy.AsSpan(start));
            return ($"write {value} as {width} bytes at {start}", copy);
        }));

    private static Func<byte[], (string, byte[])> Edit(Func<byte[], (string, byte[])> edit) => edit;

    private static (string, byte[]) Set(byte[] bytes, int at, byte value)
    {
        var copy = bytes.ToArray();
        copy[at] = value;
        return ($"set byte {at} to 0x{value:x2}", copy);
    }

    /// <summary>One to three structural edits of <paramref name="seed"/>: a node replaced by random JSON or removed,
    /// a property added, renamed or written twice. The text is returned; parsers see it as UTF-8.</summary>
    public static Gen<(string Recipe, string Json)> Json(string seedName, JsonNode seed)
    {
        var keys = Nodes(seed).OfType<JsonObject>().SelectMany(o => o.Select(p => p.Key)).Distinct().ToArray();
        var edit = JsonEdit(keys);
        return from edits in Gen.Choose(1, 3).SelectMany(count => Gen.ListOf(edit, count))
            select Apply(seedName, seed, [.. edits]);
    }

    /// <summary>JsonObject refuses duplicate keys, so edit i adds a duplicate under this name with i appended, and
    /// the name is replaced in the text.</summary>
    private const string DuplicatePlaceholder = "__fuzz_duplicate_";

    private const string DuplicateStep = "duplicate ";

    private static (string Recipe, string Json) Apply(string seedName, JsonNode seed, IReadOnlyList<Func<JsonNode, int, string>> edits)
    {
        var root = seed.DeepClone();
        var recipe = new StringBuilder(seedName);
        var duplicates = new Dictionary<string, string>();
        for (var i = 0; i < edits.Count; i++)
        {
            var step = edits[i](root, i);
            recipe.Append("; ").Append(step);
            if (step.StartsWith(DuplicateStep, StringComparison.Ordinal))
                duplicates[JsonSerializer.Serialize(DuplicatePlaceholder + i)] = step[DuplicateStep.Length..];
        }
        var text = root.ToJsonString();
        foreach (var (placeholder, name) in duplicates)
            text = text.Replace(placeholder, name);
        return (recipe.ToString(), text);
    }

    private static Gen<Func<JsonNode, int, string>> JsonEdit(string[] keys)
    {
        var key = keys.Length == 0 ? InterestingString : Gen.Frequency((3, Gen.Elements(keys)), (1, InterestingString));
        return Gen.OneOf(
            from at in Gen.Choose(0, int.MaxValue)
            from value in RandomJson(keys)
            select JsonStep(root =>
            {
                var node = Pick(root, at);
                if (node.Parent is null) return "replace root (kept)";
                var path = node.GetPath();
                node.ReplaceWith(value);
                return $"replace {path} with {value?.ToJsonString() ?? "null"}";
            }),
            from at in Gen.Choose(0, int.MaxValue)
            select JsonStep(root =>
            {
                var node = Pick(root, at);
                var path = node.GetPath();
                switch (node.Parent)
                {
                    case JsonObject parent: parent.Remove(parent.Single(p => ReferenceEquals(p.Value, node)).Key); break;
                    case JsonArray parent: parent.Remove(node); break;
                    default: return "remove root (kept)";
                }
                return $"remove {path}";
            }),
            from at in Gen.Choose(0, int.MaxValue)
            from name in key
            from value in RandomJson(keys)
            select JsonStep(root =>
            {
                if (Pick(root, at) is not JsonObject target) return "add to a non-object (skipped)";
                target[name] = value;
                return $"set {target.GetPath()}[{JsonSerializer.Serialize(name)}] = {value?.ToJsonString() ?? "null"}";
            }),
            from at in Gen.Choose(0, int.MaxValue)
            from name in key
            select JsonStep(root =>
            {
                if (Pick(root, at) is not JsonObject { Count: > 0 } target) return "rename in an empty or non-object (skipped)";
                var old = target.First();
                if (target.ContainsKey(name)) return "rename onto an existing key (skipped)";
                var value = old.Value;
                target.Remove(old.Key);
                target[name] = value;
                return $"rename {target.GetPath()}.{old.Key} to {JsonSerializer.Serialize(name)}";
            }),
            from at in Gen.Choose(0, int.MaxValue)
            select JsonStep((root, index) =>
            {
                if (Pick(root, at) is not JsonObject { Count: > 0 } target) return "duplicate in an empty or non-object (skipped)";
                var (name, value) = target.First();
                target[DuplicatePlaceholder + index] = value?.DeepClone();
                return DuplicateStep + JsonSerializer.Serialize(name);
            }));
    }

    private static Func<JsonNode, int, string> JsonStep(Func<JsonNode, string> step) => (root, _) => step(root);

    private static Func<JsonNode, int, string> JsonStep(Func<JsonNode, int, string> step) => step;

    private static JsonNode Pick(JsonNode root, int at)
    {
        var nodes = Nodes(root).ToList();
        return nodes[at % nodes.Count];
    }

    /// <summary>Every non-null node, depth first.</summary>
    private static IEnumerable<JsonNode> Nodes(JsonNode root)
    {
        yield return root;
        var children = root switch
        {
            JsonObject o => o.Select(p => p.Value),
            JsonArray a => a.AsEnumerable(),
            _ => [],
        };
        foreach (var child in children.OfType<JsonNode>())
            foreach (var node in Nodes(child))
                yield return node;
    }

    private static Gen<string> InterestingString { get; } = Gen.Frequency(
        (3, Gen.Elements(InterestingStrings)),
        (1, Gen.ArrayOf(Gen.Choose(0x20, 0x2FF).Select(c => (char)c)).Select(chars => new string(chars))));

    /// <summary>Any JSON value, nested at most a few levels, its object keys mostly drawn from
    /// <paramref name="keys"/> so that random documents look like the real ones.</summary>
    public static Gen<JsonNode?> RandomJson(string[] keys) => Gen.Sized(size => RandomJson(keys, Math.Min(3, size / 20)));

    private static Gen<JsonNode?> RandomJson(string[] keys, int depth)
    {
        var leaves = new List<(int, Gen<JsonNode?>)>
        {
            (1, Gen.Constant<JsonNode?>(null)),
            (1, Gen.Elements(true, false).Select(b => (JsonNode?)JsonValue.Create(b))),
            (4, Gen.Elements(InterestingNumbers).Select(n => JsonNode.Parse(n))),
            (2, InterestingString.Select(s => (JsonNode?)JsonValue.Create(s))),
        };
        if (depth <= 0) return Gen.Frequency(leaves);
        var key = keys.Length == 0 ? InterestingString : Gen.Frequency((4, Gen.Elements(keys)), (1, InterestingString));
        var child = RandomJson(keys, depth - 1);
        var array = Gen.Choose(0, 4).SelectMany(n => Gen.ListOf(child, n))
            .Select(items => (JsonNode?)new JsonArray([.. items]));
        var obj = Gen.Choose(0, 4).SelectMany(n => Gen.ListOf(Gen.Zip(key, child), n))
            .Select(properties =>
            {
                var o = new JsonObject();
                foreach (var (name, value) in properties) o[name] = value;
                return (JsonNode?)o;
            });
        return Gen.Frequency([.. leaves, (2, array), (2, obj)]);
    }
}
