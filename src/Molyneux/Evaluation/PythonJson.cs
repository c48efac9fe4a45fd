using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Molyneux.Evaluation;

/// <summary>JSON and text the way Python writes them, for files that Python tools (CLIP_benchmark, users' scripts)
/// read and compare: <c>json.dump</c>'s default output (", " and ": " separators, ASCII only, floats as
/// <c>repr</c>, NaN and infinities as the bare tokens <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>), <c>str()</c> of
/// a value as the csv module writes it, and a reader for JSON that contains those bare tokens (which strict JSON
/// parsers refuse, but CLIP_benchmark writes whenever a metric is NaN).
///
/// Values are <see cref="double"/> (Python float), <see cref="int"/> or <see cref="long"/> (int), <see cref="bool"/>,
/// <see cref="string"/>, null (None), an ordered list of <see cref="KeyValuePair{TKey,TValue}"/> (dict, in insertion
/// order) or a <see cref="JsonElement"/> read by <see cref="Parse"/> (passed through).</summary>
internal static class PythonJson
{
    // Bare NaN / Infinity tokens become strings with these prefixes before System.Text.Json parses the text; a NUL can
    // only appear in a JSON string escaped, so no genuine string is mistaken for one.
    private const string Sentinel = "\u0000python-float:";

    /// <summary>Python's <c>repr(float)</c>: the shortest digits that read back to the same double, in fixed notation
    /// with at least one decimal ("1.0", "0.0001") unless the decimal exponent is below −4 or above 15, then in
    /// exponent notation with a signed two-digit exponent ("1e-05", "1e+16").</summary>
    public static string FloatRepr(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsPositiveInfinity(value)) return "inf";
        if (double.IsNegativeInfinity(value)) return "-inf";
        var sign = value < 0 || (value == 0 && double.IsNegative(value)) ? "-" : "";
        var text = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponentAt = text.IndexOf('E');
        var exponent = exponentAt < 0 ? 0 : int.Parse(text[(exponentAt + 1)..], CultureInfo.InvariantCulture);
        var mantissa = exponentAt < 0 ? text : text[..exponentAt];
        var pointAt = mantissa.IndexOf('.');
        var digits = mantissa.Replace(".", "");
        // decimalPoint: how many digits stand before the decimal point (negative: zeros after it first).
        var decimalPoint = (pointAt < 0 ? mantissa.Length : pointAt) + exponent;
        var leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        if (digits.Length == 0) return sign + "0.0";
        decimalPoint -= leading;

        if (decimalPoint > -4 && decimalPoint <= 16)
        {
            if (decimalPoint <= 0) return $"{sign}0.{new string('0', -decimalPoint)}{digits}";
            if (decimalPoint >= digits.Length) return $"{sign}{digits}{new string('0', decimalPoint - digits.Length)}.0";
            return $"{sign}{digits[..decimalPoint]}.{digits[decimalPoint..]}";
        }
        var power = decimalPoint - 1;
        var fraction = digits.Length > 1 ? "." + digits[1..] : "";
        return $"{sign}{digits[0]}{fraction}e{(power < 0 ? '-' : '+')}{Math.Abs(power):00}";
    }

    /// <summary><c>json.dumps(value)</c> with Python's defaults.</summary>
    public static string Serialize(object? value)
    {
        var builder = new StringBuilder();
        Write(builder, value);
        return builder.ToString();
    }

    /// <summary>What <c>str(value)</c> gives, which is what Python's csv writer puts in a cell; None becomes the empty
    /// cell.</summary>
    public static string Str(object? value) => value switch
    {
        null => "",
        string text => text,
        JsonElement { ValueKind: JsonValueKind.String } element => ReadString(element),
        JsonElement { ValueKind: JsonValueKind.Null } => "",
        _ => Repr(value),
    };

    /// <summary>Parses JSON that may hold Python's bare <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c>; read
    /// numbers and such tokens back with <see cref="ReadNumber"/> and strings with <see cref="ReadString"/>.</summary>
    /// <exception cref="DatasetException">The text is not JSON; the message names <paramref name="path"/> and the line.</exception>
    public static JsonDocument Parse(string text, string path)
    {
        try
        {
            return JsonDocument.Parse(ReplaceFloatTokens(text));
        }
        catch (JsonException e)
        {
            throw new DatasetException($"{path}: invalid JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
    }

    /// <summary>The value of a JSON element read by <see cref="Parse"/> as the Python object json.load makes of it:
    /// an integer literal as <see cref="long"/> (or <see cref="double"/> beyond its range), any other number as
    /// <see cref="double"/>, NaN and infinities as doubles, true/false, strings, null; lists and dicts stay
    /// <see cref="JsonElement"/>s.</summary>
    public static object? ToValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number when IsInteger(element.GetRawText()) && element.TryGetInt64(out var integer) => integer,
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.String when element.GetString()!.StartsWith(Sentinel, StringComparison.Ordinal) => ReadNumber(element),
        JsonValueKind.String => element.GetString(),
        _ => element.Clone(),
    };

    /// <summary>A number, or one of Python's bare float tokens, as a double; null when <paramref name="element"/> is
    /// neither.</summary>
    public static double? ReadNumber(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Number) return element.GetDouble();
        if (element.ValueKind != JsonValueKind.String) return null;
        return element.GetString() switch
        {
            Sentinel + "NaN" => double.NaN,
            Sentinel + "Infinity" => double.PositiveInfinity,
            Sentinel + "-Infinity" => double.NegativeInfinity,
            _ => null,
        };
    }

    public static string ReadString(JsonElement element) => element.GetString()!;

    private static bool IsInteger(string raw) => raw.All(c => c == '-' || char.IsAsciiDigit(c));

    private static string Repr(object? value) => value switch
    {
        null => "None",
        bool flag => flag ? "True" : "False",
        int integer => integer.ToString(CultureInfo.InvariantCulture),
        long integer => integer.ToString(CultureInfo.InvariantCulture),
        double number => FloatRepr(number),
        float number => FloatRepr(number),
        string text => StringRepr(text),
        IEnumerable<KeyValuePair<string, object?>> pairs => "{" + string.Join(", ", pairs.Select(pair => $"{StringRepr(pair.Key)}: {Repr(pair.Value)}")) + "}",
        JsonElement element => element.ValueKind switch
        {
            JsonValueKind.Array => "[" + string.Join(", ", element.EnumerateArray().Select(item => Repr(ToValue(item)))) + "]",
            JsonValueKind.Object => "{" + string.Join(", ", element.EnumerateObject().Select(p => $"{StringRepr(p.Name)}: {Repr(ToValue(p.Value))}")) + "}",
            _ => Repr(ToValue(element)),
        },
        _ => throw new ArgumentException($"no Python equivalent for a {value.GetType().Name}", nameof(value)),
    };

    // Python's repr of a str: single quotes unless the text holds a single quote and no double quote.
    private static string StringRepr(string text)
    {
        var quote = text.Contains('\'') && !text.Contains('"') ? '"' : '\'';
        var builder = new StringBuilder().Append(quote);
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\': builder.Append(@"\\"); break;
                case '\n': builder.Append(@"\n"); break;
                case '\r': builder.Append(@"\r"); break;
                case '\t': builder.Append(@"\t"); break;
                default:
                    if (c == quote) builder.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) builder.Append($"\\x{(int)c:x2}");
                    else builder.Append(c);
                    break;
            }
        }
        return builder.Append(quote).ToString();
    }

    private static void Write(StringBuilder builder, object? value)
    {
        switch (value)
        {
            case null: builder.Append("null"); break;
            case bool flag: builder.Append(flag ? "true" : "false"); break;
            case int integer: builder.Append(integer.ToString(CultureInfo.InvariantCulture)); break;
            case long integer: builder.Append(integer.ToString(CultureInfo.InvariantCulture)); break;
            case double number: builder.Append(JsonFloat(number)); break;
            case float number: builder.Append(JsonFloat(number)); break;
            case string text: WriteString(builder, text); break;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                builder.Append('{');
                var first = true;
                foreach (var (key, item) in pairs)
                {
                    if (!first) builder.Append(", ");
                    first = false;
                    WriteString(builder, key);
                    builder.Append(": ");
                    Write(builder, item);
                }
                builder.Append('}');
                break;
            case JsonElement { ValueKind: JsonValueKind.Array } array:
                builder.Append('[');
                var firstItem = true;
                foreach (var item in array.EnumerateArray())
                {
                    if (!firstItem) builder.Append(", ");
                    firstItem = false;
                    Write(builder, ToValue(item));
                }
                builder.Append(']');
                break;
            case JsonElement { ValueKind: JsonValueKind.Object } element:
                Write(builder, element.EnumerateObject().Select(p => new KeyValuePair<string, object?>(p.Name, ToValue(p.Value))).ToList());
                break;
            case JsonElement element: Write(builder, ToValue(element)); break;
            default: throw new ArgumentException($"no JSON equivalent for a {value.GetType().Name}", nameof(value));
        }
    }

    private static string JsonFloat(double number) =>
        double.IsNaN(number) ? "NaN" : double.IsPositiveInfinity(number) ? "Infinity" : double.IsNegativeInfinity(number) ? "-Infinity" : FloatRepr(number);

    // json.dumps with ensure_ascii: the two-character escapes, \u00XX for other controls, \uXXXX (lower-case hex)
    // for everything beyond ASCII, UTF-16 code unit by code unit as Python does for characters beyond the BMP.
    private static void WriteString(StringBuilder builder, string text)
    {
        builder.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append(@"\\"); break;
                case '\n': builder.Append(@"\n"); break;
                case '\r': builder.Append(@"\r"); break;
                case '\t': builder.Append(@"\t"); break;
                case '\b': builder.Append(@"\b"); break;
                case '\f': builder.Append(@"\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) builder.Append($"\\u{(int)c:x4}");
                    else builder.Append(c);
                    break;
            }
        }
        builder.Append('"');
    }

    // Outside strings, NaN / Infinity / -Infinity become sentinel strings; everything else is copied.
    private static string ReplaceFloatTokens(string text)
    {
        var builder = new StringBuilder(text.Length);
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                builder.Append(c);
                if (c == '\\' && i + 1 < text.Length) builder.Append(text[++i]);
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"') inString = true;
            var token = new[] { "NaN", "Infinity", "-Infinity" }.FirstOrDefault(t => string.CompareOrdinal(text, i, t, 0, t.Length) == 0);
            if (token is not null)
            {
                builder.Append('"').Append(@"\u0000python-float:").Append(token).Append('"');
                i += token.Length - 1;
                continue;
            }
            builder.Append(c);
        }
        return builder.ToString();
    }
}
