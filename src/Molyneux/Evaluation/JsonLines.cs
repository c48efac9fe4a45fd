using System.Text.Json;

namespace Molyneux.Evaluation;

/// <summary>One line of a JSON-lines file (captions.jsonl, HF metadata.jsonl) parsed, or a DatasetException naming
/// the file and line.</summary>
internal static class JsonLines
{
    /// <param name="where">"&lt;file&gt;: line &lt;n&gt;", the start of any error message</param>
    /// <param name="line">The line's text, one JSON value.</param>
    public static JsonDocument Parse(string where, string line)
    {
        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{where}: malformed JSON: {e.Message}", e);
        }
    }
}
