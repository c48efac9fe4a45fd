namespace Molyneux.Tests;

/// <summary>The tests that change process-wide thread settings (libtorch's intra-op threads, the image-decoding
/// workers): one collection, so they never run beside each other and none sees another's setting.</summary>
[CollectionDefinition(Name)]
public sealed class ProcessWideThreads
{
    public const string Name = "process-wide thread settings";
}
