using static TorchSharp.torch;

namespace Molyneux.Tokenization;

/// <summary>The tokenizer that goes with a text tower, as the dual encoder uses it.</summary>
public interface ITextTowerTokenizer
{
    int VocabularySize { get; }

    /// <summary>Ids [N, length ≤ contextLength], int64, padded with the tower's pad id; longer texts are cut.</summary>
    Tensor Tokenize(IReadOnlyList<string> texts, int contextLength);

    /// <summary>Tokens of a text, start and end tokens included, without any cut.</summary>
    int CountTokens(string text);

    /// <summary>Writes the tokenizer's files into a folder.</summary>
    void SaveTo(string folder, int contextLength);
}
