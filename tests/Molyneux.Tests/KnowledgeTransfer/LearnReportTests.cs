using Molyneux.KnowledgeTransfer;

namespace Molyneux.Tests.KnowledgeTransfer;

/// <summary>How the report writes a figure with its interval.</summary>
public sealed class LearnReportTests
{
    [Fact]
    public void Signed_figures_that_round_to_zero_read_plus_zero()
    {
        Assert.Equal("+0.00 [-0.09, +0.08]", new Estimate(-0.0004, -0.0912, 0.0801).Score(signed: true));
        Assert.Equal("+0.0 [-1.3, +2.9] points", new Estimate(-0.0001, -0.013, 0.029).Points(signed: true));
        Assert.Equal("1.72 [1.56, 1.89]", new Estimate(1.7212, 1.5623, 1.8871).Score());
        Assert.Equal("12.5 % [10.8, 14.6]", new Estimate(0.125, 0.108, 0.146).Points());
    }
}
