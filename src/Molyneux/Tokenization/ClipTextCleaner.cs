using System.Globalization;
using System.Text;

namespace Molyneux.Tokenization;

/// <summary>The text cleaning of OpenAI CLIP's SimpleTokenizer, without ftfy: HTML-unescape twice, strip and collapse
/// whitespace, lower-case. Each step follows the Python function CLIP calls, because .NET's nearest equivalents
/// (WebUtility.HtmlDecode, char.IsWhiteSpace, ToLowerInvariant) differ on inputs that change the ids.</summary>
public static class ClipTextCleaner
{
    public static string Clean(string text) =>
        PythonLower(CollapseWhitespace(HtmlUnescape(HtmlUnescape(text))));

    /// <summary>Python's <c>str.isspace</c>, which is what <c>str.strip</c> and <c>re</c>'s <c>\s</c> use: Unicode
    /// White_Space plus the separators U+001C..U+001F. All of these are in the BMP.</summary>
    internal static bool IsPythonWhitespace(char c) => c switch
    {
        >= '\t' and <= '\r' or >= '\u001C' and <= ' ' or '\u0085' or '\u00A0' or '\u1680' => true,
        >= '\u2000' and <= '\u200A' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' => true,
        _ => false,
    };

    /// <summary>Strips the text and replaces each whitespace run with one space.</summary>
    internal static string CollapseWhitespace(string text)
    {
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (IsPythonWhitespace(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }
            if (pendingSpace) builder.Append(' ');
            pendingSpace = false;
            builder.Append(c);
        }
        return builder.ToString();
    }

    /// <summary>Python's <c>str.lower</c>: simple lower-case mappings, plus the two rules it applies on top of them,
    /// İ becoming i + U+0307 and Σ becoming ς at the end of a word.</summary>
    internal static string PythonLower(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var length) != System.Buffers.OperationStatus.Done)
                throw new TokenizerException($"text has an unpaired UTF-16 surrogate at index {i}; CLIP tokenizes valid Unicode only");
            if (rune.Value == 'İ')
                builder.Append("i\u0307");
            else if (rune.Value == 'Σ')
                builder.Append(IsFinalSigma(text, i) ? 'ς' : 'σ');
            else
                builder.Append(Rune.ToLowerInvariant(rune));
            i += length;
        }
        return builder.ToString();
    }

    /// <summary>Unicode's Final_Sigma condition as Python tests it: a cased character before the sigma and none
    /// after it, skipping case-ignorable characters on both sides.</summary>
    private static bool IsFinalSigma(string text, int index)
    {
        var before = text.AsSpan(0, index);
        while (!before.IsEmpty)
        {
            Rune.DecodeLastFromUtf16(before, out var rune, out var length);
            before = before[..^length];
            if (IsCaseIgnorable(rune))
                continue;
            if (!IsCased(rune))
                return false;
            var after = text.AsSpan(index + 1);
            while (!after.IsEmpty)
            {
                Rune.DecodeFromUtf16(after, out rune, out length);
                after = after[length..];
                if (!IsCaseIgnorable(rune))
                    return !IsCased(rune);
            }
            return true;
        }
        return false;
    }

    // .NET exposes neither the Cased nor the Case_Ignorable property; these rebuild them from the general category,
    // the case mappings, and the short lists of characters the properties add by name.
    private static bool IsCased(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || Rune.ToLowerInvariant(rune) != rune || Rune.ToUpperInvariant(rune) != rune
        || rune.Value is 'ª' or 'º' or >= 0x1F130 and <= 0x1F149 or >= 0x1F150 and <= 0x1F169 or >= 0x1F170 and <= 0x1F189;

    private static bool IsCaseIgnorable(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        // Word_Break MidLetter, MidNumLet and Single_Quote.
        || rune.Value is '\'' or '.' or ':' or '·' or 0x0387 or 0x055F or 0x05F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;

    /// <summary>Python's <c>html.unescape</c>: numeric references with the HTML5 replacement rules, and named ones
    /// from the full HTML5 list, where the legacy names also match without ';' and as the longest prefix of a run of
    /// name characters (so <c>&amp;notanentity;</c> becomes <c>¬anentity;</c>).</summary>
    internal static string HtmlUnescape(string text)
    {
        var ampersand = text.IndexOf('&');
        if (ampersand < 0) return text;
        var builder = new StringBuilder(text.Length);
        var copied = 0;
        while (ampersand >= 0)
        {
            var next = ampersand + 1;
            if (TryReplaceReference(text, ampersand, out var replacement, out var end))
            {
                builder.Append(text, copied, ampersand - copied).Append(replacement);
                copied = next = end;
            }
            ampersand = text.IndexOf('&', next);
        }
        return builder.Append(text, copied, text.Length - copied).ToString();
    }

    private const int MaxNameLength = 32;

    private static bool TryReplaceReference(string text, int ampersand, out string replacement, out int end)
    {
        replacement = "";
        var start = ampersand + 1;
        if (start < text.Length && text[start] == '#')
        {
            var hex = start + 1 < text.Length && text[start + 1] is 'x' or 'X';
            var digitsStart = start + (hex ? 2 : 1);
            end = digitsStart;
            var value = 0;
            while (end < text.Length && (hex ? char.IsAsciiHexDigit(text[end]) : char.IsAsciiDigit(text[end])))
            {
                // Anything beyond U+10FFFF is replaced the same way, so larger numbers need not be held exactly.
                var digit = char.IsAsciiDigit(text[end]) ? text[end] - '0' : (text[end] | 0x20) - 'a' + 10;
                value = Math.Min(value * (hex ? 16 : 10) + digit, 0x110000);
                end++;
            }
            if (end == digitsStart) return false;
            if (end < text.Length && text[end] == ';') end++;
            replacement = NumericReference(value);
            return true;
        }

        end = start;
        while (end < text.Length && end - start < MaxNameLength && text[end] is not ('\t' or '\n' or '\f' or ' ' or '<' or '&' or '#' or ';'))
            end++;
        if (end == start) return false;
        if (end < text.Length && text[end] == ';') end++;
        var name = text.AsSpan(start, end - start);
        var entities = Html5Entities.Value.GetAlternateLookup<ReadOnlySpan<char>>();
        if (entities.TryGetValue(name, out var whole))
        {
            replacement = whole;
            return true;
        }
        for (var prefix = name.Length - 1; prefix >= 2; prefix--)
        {
            if (entities.TryGetValue(name[..prefix], out var value))
            {
                replacement = string.Concat(value, name[prefix..]);
                return true;
            }
        }
        return false;
    }

    // HTML5 maps the C1 range to what the Windows-1252 bytes mean, except the five bytes it leaves undefined.
    private const string Windows1252C1 =
        "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F" +
        "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

    private static string NumericReference(int value) => value switch
    {
        0 => "\uFFFD",
        '\r' => "\r",
        >= 0x80 and <= 0x9F => Windows1252C1[value - 0x80].ToString(),
        >= 0xD800 and <= 0xDFFF or > 0x10FFFF => "\uFFFD",
        >= 0x01 and <= 0x08 or 0x0B or >= 0x0E and <= 0x1F or 0x7F or >= 0xFDD0 and <= 0xFDEF => "",
        _ when (value & 0xFFFE) == 0xFFFE => "",
        _ => char.ConvertFromUtf32(value),
    };

    private static readonly Lazy<Dictionary<string, string>> Html5Entities = new(LoadHtml5Entities);

    private static Dictionary<string, string> LoadHtml5Entities()
    {
        using var stream = typeof(ClipTextCleaner).Assembly.GetManifestResourceStream("Molyneux.Tokenization.Html5Entities.txt")
            ?? throw new InvalidOperationException("the HTML5 entity table is not embedded in the assembly");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var entities = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith('#')) continue;
            var fields = line.Split(' ');
            entities[fields[0]] = string.Concat(fields.Skip(1).Select(hex => char.ConvertFromUtf32(int.Parse(hex, NumberStyles.HexNumber))));
        }
        return entities;
    }
}
