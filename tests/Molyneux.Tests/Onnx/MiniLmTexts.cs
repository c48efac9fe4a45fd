namespace Molyneux.Tests.Onnx;

/// <summary>The texts the MiniLM parity tests encode: prompts and captions, Unicode (accents, CJK, Cyrillic, Arabic,
/// emoji, and '=', and '$', which Microsoft.ML.Tokenizers drops where HF keeps them; line breaks, which the package's tokenizer does not split on), empty and whitespace-only, punctuation-only, and texts longer than the 512-token context.</summary>
internal static class MiniLmTexts
{
    public static readonly string[] Plain =
    [
        "a photo of a cat", "a photo of a dog", "A red circle on a blue background.", "two small green squares",
        "The quick brown fox jumps over the lazy dog.", "an emoji of a smiling face with heart-eyes",
        "A moongate is a large gray ring on a green background", "grinning face", "face with tears of joy",
        "pile of poo", "thumbs up", "red heart", "a drawing of a rocket taking off", "the flag of France",
        "Sentence embeddings map texts to vectors.", "unaffable", "UPPER CASE TEXT", "MiXeD cAsE tExT",
        "numbers 12345 and 3.14159", "e-mail: someone@example.com",
        "  leading and trailing spaces  ", "hyphen-ated words and don't contractions",
        "a very, very, very small blue triangle", "C# and .NET 10", "(parentheses) [brackets] {braces}",
        "question? answer!", "semi;colon:colon", "quotes \"double\" and 'single'", "x", "a",
    ];

    public static readonly string[] Unusual =
    [
        "", " ", "!!!", "?!.,;:", "...", "---", "#$%&*@", "😀", "a cat 🐱 and a dog 🐶", "👩‍👩‍👧‍👦 family",
        "café naïve résumé", "Ünïcödé äccents", "日本語のテキスト", "中文字符", "한국어 텍스트", "Привет, мир", "مرحبا بالعالم",
        "ελληνικά", "tabs\tand\nnewlines\r\nin text", "https://example.com/path?query=1", "a = b", "emoji flags 🇫🇷🇩🇪", "mathematical ∑ ∫ √ ∞", "zero\u200Bwidth space", "ﬁ ligature", "Ａｂｃ fullwidth",
    ];

    public static readonly string[] Long =
    [
        string.Join(" ", Enumerable.Repeat("The quick brown fox jumps over the lazy dog.", 80)),
        string.Join(" ", Enumerable.Range(0, 700).Select(index => $"word{index}")),
    ];

    public static IEnumerable<string> All => Plain.Concat(Unusual).Concat(Long);
}
