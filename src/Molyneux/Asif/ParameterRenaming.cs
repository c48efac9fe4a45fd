namespace Molyneux.Asif;

/// <summary>Turns a module's parameter names into a checkpoint's by substring replacements applied in order, for
/// encoders assembled from CLIP's blocks but stored under another architecture's names. Only this direction is
/// needed: loading looks each parameter up under its checkpoint name.</summary>
internal sealed class ParameterRenaming((string Module, string Checkpoint)[] renames)
{
    public string CheckpointName(string moduleName) =>
        renames.Aggregate(moduleName, (name, rename) => name.Replace(rename.Module, rename.Checkpoint, StringComparison.Ordinal));
}
