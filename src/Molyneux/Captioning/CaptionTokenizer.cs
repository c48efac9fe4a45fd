using System.Text;

namespace Molyneux.Captioning;

/// <summary>
/// The text normalisation pycocoevalcap applies before every caption metric (<c>tokenizer/ptbtokenizer.py</c>): the
/// Stanford CoreNLP 3.4.1 <c>PTBTokenizer</c> run with <c>-preserveLines -lowerCase</c>, then the tokens
/// <c>'' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;</c> dropped. The Java tokenizer is not available here,
/// so this reproduces its observable output on plain English captions:
/// <list type="bullet">
/// <item>tokens are split on whitespace (pycocoevalcap first turns a caption's newlines into spaces);</item>
/// <item>sentence punctuation <c>, ; : ! ?</c>, ellipses and dashes are split off and dropped, except a comma or
/// colon between digits (<c>1,000</c>, <c>10:30</c>), which the lexer keeps inside the number;</item>
/// <item>a word's final period is split off and dropped, except after an acronym with inner periods
/// (<c>u.s.</c>, <c>a.m.</c>) or a common title abbreviation (<c>mr.</c>, <c>dr.</c>, <c>st.</c> …), which keep it;
/// a period inside a word or number stays (<c>3.5</c>);</item>
/// <item>quotes (<c>"</c>, <c>`</c>, curly quotes, a single quote that opens or closes a word) are split off and
/// dropped — the lexer turns them into <c>`` '' ` '</c>, all on the removal list;</item>
/// <item>English clitics are split as the Penn Treebank does: <c>n't 's 're 've 'll 'd 'm</c> (<c>don't</c> →
/// <c>do n't</c>, <c>man's</c> → <c>man 's</c>; a right single curly quote counts as an apostrophe), a plural
/// possessive's apostrophe is dropped (<c>dogs'</c> → <c>dogs</c>), and <c>cannot gonna gotta wanna gimme lemme</c>
/// are split in two (<c>can not</c>, <c>gon na</c> …);</item>
/// <item>brackets become <c>-lrb- -rrb- -lsb- -rsb- -lcb- -rcb-</c> and are KEPT: the lexer escapes them as
/// <c>-LRB-</c> …, <c>-lowerCase</c> then lower-cases every token (<c>PTBTokenizer.tokReader</c>), and the removal
/// list only holds the upper-case forms, so pycocoevalcap never removes them;</item>
/// <item>every token is lower-cased with invariant (English) rules, as <c>toLowerCase(Locale.ENGLISH)</c>;</item>
/// <item>hyphenated words stay whole (<c>black-and-white</c>): CoreNLP 3.4.1 predates hyphen splitting.</item>
/// </list>
/// Not reproduced: the lexer's full abbreviation list (months, states, single letters such as <c>c.</c>), the
/// <c>'tis</c> / <c>'twas</c> splits, apostrophe words such as <c>'90s</c> or <c>rock 'n' roll</c>, its escaping of
/// <c>/</c> and <c>*</c>, URLs, e-mail addresses, emoticons, SGML tags, fractions and other Unicode normalisations,
/// and splitting of other symbols glued to words (<c>$5</c>, <c>50%</c>). Captions that use these may tokenize
/// differently from pycocoevalcap.
/// </summary>
public static class CaptionTokenizer
{
    /// <summary>A subset of the lexer's abbreviations (its ABTITLE, ABPTIT and ABCOMP classes and "etc", "vs"):
    /// the ones a caption may plausibly end a word with.</summary>
    private static readonly HashSet<string> TitleAbbreviations =
    [
        "mr", "mrs", "ms", "dr", "prof", "st", "mt", "ft", "ave", "blvd", "rd", "gen", "col", "lt", "capt", "sgt",
        "rev", "gov", "jr", "sr", "bros", "inc", "co", "corp", "ltd", "etc", "vs",
    ];

    private static readonly string[] Clitics = ["'s", "'re", "'ve", "'ll", "'d", "'m"];

    private static readonly Dictionary<string, (string, string)> SplitWords = new()
    {
        ["cannot"] = ("can", "not"),
        ["gonna"] = ("gon", "na"),
        ["gotta"] = ("got", "ta"),
        ["wanna"] = ("wan", "na"),
        ["gimme"] = ("gim", "me"),
        ["lemme"] = ("lem", "me"),
    };

    private static readonly Dictionary<char, string> Brackets = new()
    {
        ['('] = "-lrb-", [')'] = "-rrb-", ['['] = "-lsb-", [']'] = "-rsb-", ['{'] = "-lcb-", ['}'] = "-rcb-",
    };

    /// <summary>The caption's tokens as pycocoevalcap scores them: lower case, punctuation split off and the removed
    /// punctuation gone. An empty or all-punctuation caption gives no tokens.</summary>
    public static IReadOnlyList<string> Tokenize(string caption)
    {
        var tokens = new List<string>();
        var normalised = caption.ToLowerInvariant().Replace('\u2019', '\'');
        foreach (var chunk in normalised.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            foreach (var (text, isBracket) in SplitAtBracketsAndDoubleQuotes(chunk))
                if (isBracket) tokens.Add(text);
                else AddWord(text, tokens);
        return tokens;
    }

    /// <summary>Brackets and double quotes are tokens wherever they stand: the pieces of a whitespace-free chunk in
    /// order, each a bracket's escape or a word still to split; double quotes are dropped.</summary>
    private static IEnumerable<(string Text, bool IsBracket)> SplitAtBracketsAndDoubleQuotes(string chunk)
    {
        var piece = new StringBuilder();
        foreach (var character in chunk)
        {
            var isBracket = Brackets.TryGetValue(character, out var bracket);
            if (!isBracket && character is not ('"' or '\u201c' or '\u201d' or '`' or '\u2018'))
            {
                piece.Append(character);
                continue;
            }
            if (piece.Length > 0) yield return (piece.ToString(), false);
            piece.Clear();
            if (isBracket) yield return (bracket!, true);
        }
        if (piece.Length > 0) yield return (piece.ToString(), false);
    }

    private static void AddWord(string word, List<string> tokens)
    {
        // Leading quotes and punctuation open the word; a lone clitic ("dog 's") is a token, not a quote.
        var start = 0;
        while (start < word.Length && IsDroppedPunctuation(word[start]) && !IsClitic(word[start..]))
            start++;
        var end = word.Length;
        while (end > start && (IsDroppedPunctuation(word[end - 1]) || word[end - 1] == '.') && !KeepsFinalPeriod(word, start, end))
            end--;
        if (end <= start) return;
        foreach (var part in SplitInnerPunctuation(word[start..end]))
            AddWithClitics(part, tokens);
    }

    private static bool IsDroppedPunctuation(char character) =>
        character is ',' or ';' or ':' or '!' or '?' or '-' or '\'' or '\u2013' or '\u2014' or '\u2026';

    private static bool IsClitic(string text) => Clitics.Contains(text) || text == "n't";

    /// <summary>A final period belongs to acronyms (letters separated by periods) and title abbreviations.</summary>
    private static bool KeepsFinalPeriod(string word, int start, int end)
    {
        if (word[end - 1] != '.' || (end >= 2 && word[end - 2] == '.')) return false;
        var stem = word[start..(end - 1)];
        if (TitleAbbreviations.Contains(stem)) return true;
        var letters = stem.Split('.');
        return letters.Length > 1 && letters.All(part => part.Length == 1 && char.IsLetter(part[0]));
    }

    /// <summary>Inside a word, sentence punctuation and runs of periods or dashes separate words, except a comma or
    /// colon between digits; a single period or hyphen stays (3.5, u.s., black-and-white, and a final period that
    /// <see cref="KeepsFinalPeriod"/> left).</summary>
    private static IEnumerable<string> SplitInnerPunctuation(string word)
    {
        var piece = new StringBuilder();
        for (var i = 0; i < word.Length; i++)
        {
            var character = word[i];
            var previous = i > 0 ? word[i - 1] : '\0';
            var next = i + 1 < word.Length ? word[i + 1] : '\0';
            var separates = character switch
            {
                ',' or ':' => !(char.IsDigit(previous) && char.IsDigit(next)),
                '.' => previous == '.' || next == '.',
                '-' => previous is '-' or '\0' || next is '-' or '\0',
                ';' or '!' or '?' or '\u2013' or '\u2014' or '\u2026' => true,
                _ => false,
            };
            if (!separates)
            {
                piece.Append(character);
                continue;
            }
            if (piece.Length > 0) yield return piece.ToString();
            piece.Clear();
        }
        if (piece.Length > 0) yield return piece.ToString();
    }

    private static void AddWithClitics(string word, List<string> tokens)
    {
        if (SplitWords.TryGetValue(word, out var split))
        {
            tokens.Add(split.Item1);
            tokens.Add(split.Item2);
            return;
        }
        if (word.Length > 3 && word.EndsWith("n't", StringComparison.Ordinal))
        {
            tokens.Add(word[..^3]);
            tokens.Add("n't");
            return;
        }
        foreach (var clitic in Clitics)
            if (word.Length > clitic.Length && word.EndsWith(clitic, StringComparison.Ordinal))
            {
                tokens.Add(word[..^clitic.Length]);
                tokens.Add(clitic);
                return;
            }
        // A plural possessive's apostrophe ("dogs'") is the lexer's ' token, which pycocoevalcap removes.
        tokens.Add(word.TrimEnd('\''));
    }
}
