using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Molyneux.Runtime;

namespace Molyneux.Tokenization;

/// <summary>One entry of transformers' <c>added_tokens_decoder</c> (tokenizer_config.json), the fields of its
/// <c>AddedToken</c>: the text it matches (<see cref="Content"/>), whether that match happens on the normalized text
/// (for CLIP: lower-cased), whether it eats the white space beside it, whether it must stand as a whole word, and
/// whether it is a special token (skipped when decoding with <c>skip_special_tokens</c>).</summary>
public sealed record HuggingFaceAddedToken(
    int Id,
    string Content,
    bool Special,
    bool Normalized = true,
    bool Lstrip = false,
    bool Rstrip = false,
    bool SingleWord = false);

/// <summary>The tokenizer files transformers reads beside a vocabulary: <c>tokenizer_config.json</c> (the
/// tokenizer's class, <c>model_max_length</c>, its special tokens and <c>added_tokens_decoder</c>: id → {content,
/// lstrip, rstrip, normalized, single_word, special}), <c>special_tokens_map.json</c> (role → token text) and, for
/// older transformers, <c>added_tokens.json</c> (text → id of the non-special added tokens). Without
/// <c>model_max_length</c> transformers does not truncate at the model's context; without the added tokens a word
/// added to the vocabulary is never produced in Python.</summary>
public static class HuggingFaceTokenizerFiles
{
    public const string ConfigFile = "tokenizer_config.json";
    public const string SpecialTokensMapFile = "special_tokens_map.json";
    public const string AddedTokensFile = "added_tokens.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes tokenizer_config.json (<paramref name="settings"/>, the special tokens by role and
    /// <c>added_tokens_decoder</c>, keys sorted as transformers writes them), special_tokens_map.json and, when
    /// there are non-special added tokens, added_tokens.json; each file atomically.</summary>
    /// <param name="specialTokens">Role ("bos_token", "cls_token", …) → token text.</param>
    /// <param name="folder">The model folder the files are written into.</param>
    /// <param name="settings">tokenizer_config.json's other fields (tokenizer class, model_max_length, …).</param>
    /// <param name="addedTokens">Tokens added to the vocabulary, special or not, with their ids.</param>
    public static void Write(string folder, IReadOnlyDictionary<string, JsonNode?> settings, IReadOnlyDictionary<string, string> specialTokens,
        IReadOnlyList<HuggingFaceAddedToken> addedTokens)
    {
        var decoder = new JsonObject();
        foreach (var token in addedTokens.OrderBy(token => token.Id))
            decoder[token.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = token.Content,
                ["lstrip"] = token.Lstrip,
                ["normalized"] = token.Normalized,
                ["rstrip"] = token.Rstrip,
                ["single_word"] = token.SingleWord,
                ["special"] = token.Special,
            };
        var fields = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal) { ["added_tokens_decoder"] = decoder };
        foreach (var (role, text) in specialTokens) fields[role] = text;
        foreach (var (name, value) in settings) fields[name] = value?.DeepClone();
        var config = new JsonObject();
        foreach (var (name, value) in fields) config[name] = value;
        AtomicFile.WriteAllText(Path.Combine(folder, ConfigFile), config.ToJsonString(Indented) + "\n");

        var map = new JsonObject();
        foreach (var (role, text) in specialTokens.OrderBy(entry => entry.Key, StringComparer.Ordinal)) map[role] = text;
        AtomicFile.WriteAllText(Path.Combine(folder, SpecialTokensMapFile), map.ToJsonString(Indented) + "\n");

        var added = addedTokens.Where(token => !token.Special).OrderBy(token => token.Id).ToList();
        if (added.Count == 0) return;
        var addedJson = new JsonObject();
        foreach (var token in added) addedJson[token.Content] = token.Id;
        AtomicFile.WriteAllText(Path.Combine(folder, AddedTokensFile), addedJson.ToJsonString(Indented) + "\n");
    }

    /// <summary>The added tokens a folder declares, ordered by id, and the file that declares them:
    /// tokenizer_config.json's <c>added_tokens_decoder</c> when it has one, else added_tokens.json (whose tokens count
    /// as not special, with transformers' defaults), else none (and no file). Read as transformers reads them, which
    /// gives the first file precedence.</summary>
    public static (IReadOnlyList<HuggingFaceAddedToken> Tokens, string? Source) ReadAddedTokens(string folder)
    {
        var configPath = Path.Combine(folder, ConfigFile);
        if (File.Exists(configPath)
            && Properties(ReadObject(configPath), configPath).FirstOrDefault(field => field.Key == "added_tokens_decoder").Value is { } decoderNode)
            return (ParseDecoder(decoderNode, configPath), configPath);
        var addedPath = Path.Combine(folder, AddedTokensFile);
        if (!File.Exists(addedPath)) return ([], null);
        var tokens = new List<HuggingFaceAddedToken>();
        foreach (var (content, value) in Properties(ReadObject(addedPath), addedPath))
            tokens.Add(new HuggingFaceAddedToken(Id(value, addedPath, $"\"{content}\""), content, Special: false));
        return ([.. tokens.OrderBy(token => token.Id)], addedPath);
    }

    private static List<HuggingFaceAddedToken> ParseDecoder(JsonNode decoderNode, string path)
    {
        if (decoderNode is not JsonObject decoder)
            throw new TokenizerException($"{path}: added_tokens_decoder is {decoderNode.GetValueKind()}, expected an object of id → token");
        var tokens = new List<HuggingFaceAddedToken>();
        foreach (var (key, value) in Properties(decoder, path))
        {
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
                throw new TokenizerException($"{path}: added_tokens_decoder key \"{key}\" is not a token id");
            var where = $"added_tokens_decoder[\"{key}\"]";
            if (value is not JsonObject token)
                throw new TokenizerException($"{path}: {where} is {value?.GetValueKind().ToString() ?? "null"}, expected an object with \"content\"");
            if (token["content"] is not JsonValue contentValue || !contentValue.TryGetValue<string>(out var content) || content.Length == 0)
                throw new TokenizerException($"{path}: {where} has no \"content\" text");
            bool Flag(string name, bool fallback) => token[name] switch
            {
                null => fallback,
                JsonValue flag when flag.TryGetValue<bool>(out var set) => set,
                var other => throw new TokenizerException($"{path}: {where}.{name} is {other.ToJsonString()}, expected true or false"),
            };
            var special = Flag("special", false);
            tokens.Add(new HuggingFaceAddedToken(id, content, special, Flag("normalized", !special), Flag("lstrip", false), Flag("rstrip", false), Flag("single_word", false)));
        }
        return [.. tokens.OrderBy(token => token.Id)];
    }

    private static int Id(JsonNode? value, string path, string what) =>
        value is JsonValue number && number.TryGetValue<int>(out var id) && id >= 0
            ? id
            : throw new TokenizerException($"{path}: {what} has id {value?.ToJsonString() ?? "null"}, expected a non-negative integer");

    /// <summary>The object's properties; a repeated name, which the parser reports only when the object is read, is
    /// reported here as the file's error.</summary>
    private static List<KeyValuePair<string, JsonNode?>> Properties(JsonObject node, string path)
    {
        try
        {
            return [.. node];
        }
        catch (ArgumentException e)
        {
            throw new TokenizerException($"{path}: a name appears twice ({e.Message})", e);
        }
    }

    private static JsonObject ReadObject(string path)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new TokenizerException($"{path}: not valid JSON ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerException($"{path}: cannot be read ({e.Message})", e);
        }
        return node as JsonObject ?? throw new TokenizerException($"{path}: expected a JSON object");
    }
}
