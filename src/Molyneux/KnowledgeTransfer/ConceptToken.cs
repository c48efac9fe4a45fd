using Molyneux.Modeling;
using Molyneux.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.KnowledgeTransfer;

/// <summary>The concept's name as one new vocabulary entry with its own token-embedding row, which the
/// <see cref="TrainMode.Token"/> fine-tuning learns while everything else stays frozen (textual inversion, Gal et al.
/// 2022). The tokenizer maps the name, as a whole word, to the new id (<see cref="Tokenization.ClipTokenizer.WithAddedWord"/>),
/// so a saved checkpoint's vocab.json carries it and a reloaded model recognises the name.</summary>
public sealed class ConceptToken
{
    private ConceptToken(string word, int id)
    {
        Word = word;
        Id = id;
    }

    public string Word { get; }

    public int Id { get; }

    /// <summary>Adds <paramref name="word"/> to the pipeline's tokenizer and a row to its model. The row starts as the
    /// mean of the embeddings of the tokens the word was split into before, so the new token begins close to what
    /// the model read for the name. A word the vocabulary already holds as one token (a concept withheld from
    /// pretraining whose name still occurs in other captions) keeps that token, and its row is the one trained: prompts
    /// of other classes that contain the word then change too, which the forgetting measurement shows.</summary>
    public static ConceptToken Add(ClipPipeline clip, string word)
    {
        if (clip.Tokenizer.Encode(word) is [var existing] && clip.Tokenizer.Decode([existing]).Trim() == word.Trim().ToLowerInvariant())
            return new ConceptToken(word, existing);
        var tokenizer = clip.Tokenizer.WithAddedWord(word);
        var id = tokenizer.VocabularySize - 1;
        using (NewDisposeScope())
        {
            var table = clip.Model.text_model.embeddings.token_embedding.weight!;
            var pieces = tensor(clip.Tokenizer.Encode(word).Select(piece => (long)piece).ToArray(), device: table.device);
            clip.Model.AddTokenEmbeddings(table.detach().index_select(0, pieces).mean([0], keepdim: true), tokenizer.EndOfTextId);
        }
        clip.WeightsChanged(tokenizer);
        return new ConceptToken(word, id);
    }

    /// <summary>Makes the token's row the only trainable part of the token embedding; see <see cref="TrainableRow"/>.</summary>
    internal TrainableRow Train(ClipModel model) => new(model.text_model.embeddings.token_embedding, Id);

    /// <summary>While fine-tuning, the row lives in <see cref="Row"/>, a parameter of its own that a forward hook on
    /// the token embedding puts in place of the table's row: the optimiser sees nothing else of the table (weight
    /// decay alone would move every row it held), and no other token's embedding can change. Disposing copies the
    /// row back into the table and removes the hook.</summary>
    internal sealed class TrainableRow : IDisposable
    {
        private readonly Embedding embedding;
        private readonly int id;
        private readonly nn.Module<Tensor, Tensor>.HookRemover hook;

        public TrainableRow(Embedding embedding, int id)
        {
            this.embedding = embedding;
            this.id = id;
            Row = new Parameter(embedding.weight![id].detach().clone().DetachFromDisposeScope());
            hook = embedding.register_forward_hook((_, ids, embedded) =>
                where(ids.EqualTo(id).unsqueeze(-1), Row, embedded));
        }

        public Parameter Row { get; }

        public void Dispose()
        {
            hook.remove();
            using (no_grad())
                embedding.weight![id].copy_(Row);
            Row.Dispose();
        }
    }
}
