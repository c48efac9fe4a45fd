using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Molyneux.Runtime;

/// <summary>Lets exactly the trainable parameters require gradients while it lives (none, for an inversion that
/// optimises pixels through a frozen model), and then restores every parameter's flag.</summary>
public sealed class RequiresGradScope : IDisposable
{
    private readonly List<(Parameter Parameter, bool RequiredGrad)> saved;

    public RequiresGradScope(nn.Module model, IReadOnlyList<Parameter> trainable)
    {
        saved = model.parameters().Select(parameter => (parameter, parameter.requires_grad)).ToList();
        foreach (var (parameter, _) in saved) parameter.requires_grad = false;
        foreach (var parameter in trainable) parameter.requires_grad = true;
    }

    public void Dispose()
    {
        foreach (var (parameter, requiredGrad) in saved) parameter.requires_grad = requiredGrad;
    }
}
