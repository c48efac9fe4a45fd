namespace Molyneux.Worlds;

/// <summary>SplitMix64 (Steele, Lea and Flood 2014): a tiny generator whose output is fixed by its definition, unlike
/// System.Random's, which .NET does not promise to keep across versions.</summary>
internal sealed class SplitMix64 : CaptionChoices
{
    private ulong state;

    /// <summary>One independent stream per (seed, index), so samples can be drawn in any order or in parallel.</summary>
    public SplitMix64(int seed, int index) => state = Mix(Mix((ulong)(uint)seed) ^ (ulong)(uint)index);

    private ulong Next() => Mix(state += 0x9E3779B97F4A7C15);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    public bool Chance(double probability) => NextDouble() < probability;

    public override bool Say(double probability) => Chance(probability);

    /// <summary>Uniform in [0, options), by multiply-shift on 32 random bits (bias below 2⁻²⁷ for ranges up to 25).</summary>
    public override int Pick(int options) => (int)(((Next() >> 32) * (ulong)options) >> 32);

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
