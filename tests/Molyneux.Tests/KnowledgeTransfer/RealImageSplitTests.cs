using Molyneux.KnowledgeTransfer;

namespace Molyneux.Tests.KnowledgeTransfer;

public sealed class RealImageSplitTests
{
    private static readonly (string, int)[] Concepts = [("moongate", 5), ("zorblet", 2), ("glimmer", 40)];

    [Fact]
    public void The_split_is_disjoint_complete_and_reproducible()
    {
        var split = RealImageSplit.Create(Concepts, 101, 0.5, seed: 3);
        for (var c = 0; c < Concepts.Length; c++)
        {
            var (validation, test) = (split.ConceptValidation[c], split.ConceptTest[c]);
            Assert.Empty(validation.Intersect(test));
            Assert.Equal(Enumerable.Range(0, Concepts[c].Item2), validation.Concat(test).Order());
            Assert.NotEmpty(validation);
            Assert.NotEmpty(test);
        }
        Assert.Equal([3, 1, 20], split.ConceptValidation.Select(v => v.Length));
        Assert.Empty(split.ReferenceValidation.Intersect(split.ReferenceTest));
        Assert.Equal(101, split.ReferenceValidation.Length + split.ReferenceTest.Length);

        var again = RealImageSplit.Create(Concepts, 101, 0.5, seed: 3);
        Assert.Equal(split.ConceptValidation, again.ConceptValidation);
        Assert.Equal(split.ReferenceTest, again.ReferenceTest);
        var other = RealImageSplit.Create(Concepts, 101, 0.5, seed: 4);
        Assert.NotEqual(split.ConceptValidation[2], other.ConceptValidation[2]);
    }

    [Fact]
    public void A_concept_with_one_image_is_refused_by_name()
    {
        var error = Assert.Throws<DatasetException>(() => RealImageSplit.Create([("moongate", 5), ("lonely", 1)], 10, 0.5, 0));
        Assert.Contains("'lonely'", error.Message);
        Assert.Contains("--select inverted", error.Message);
    }

    [Fact]
    public void Test_only_leaves_every_concept_image_to_test_and_splits_the_reference_on_request()
    {
        var split = RealImageSplit.TestOnly([3, 4], 10, 0.5, 0, splitReference: true);
        Assert.All(split.ConceptValidation, Assert.Empty);
        Assert.Equal([0, 1, 2, 3], split.ConceptTest[1]);
        Assert.Equal(5, split.ReferenceValidation.Length);
        Assert.Empty(RealImageSplit.TestOnly([3], 10, 0.5, 0, splitReference: false).ReferenceValidation);
    }
}
