using TorchSharp;

namespace Molyneux.Modeling;

/// <summary>Puts a module in evaluation mode (BatchNorm on its running statistics, no dropout) for a measurement taken
/// in the middle of training, and back in training mode when disposed if it was in it.</summary>
public sealed class EvaluationMode : IDisposable
{
    private readonly torch.nn.Module module;
    private readonly bool wasTraining;

    public EvaluationMode(torch.nn.Module module)
    {
        (this.module, wasTraining) = (module, module.training);
        module.eval();
    }

    public void Dispose()
    {
        if (wasTraining) module.train();
    }
}
