using Molyneux.Modeling;
using Molyneux.Runtime;
using static TorchSharp.torch;

namespace Molyneux.Segmentation;

/// <summary>Grad-CAM (Selvaraju et al. 2017) for an image–text score, the gradient baseline M2IB is compared with:
/// the states A after a layer, the gradient of cos(f_V(A), f_T(text)) with respect to them, one weight per channel
/// (the gradient averaged over the image positions), and ReLU(Σ_c w_c A_c) per position.</summary>
public sealed class GradCam : ISaliencyMethod
{
    private readonly IVisionLanguageModel model;
    private readonly ISplitImageTower tower;

    /// <param name="layer">The layer whose output is weighted; null: the tower's default split layer, the same one
    /// M2IB uses by default, so that the two compare at one resolution.</param>
    /// <param name="model">The model whose image tower is explained; it must be splittable after a layer.</param>
    public GradCam(IVisionLanguageModel model, int? layer = null)
    {
        tower = model as ISplitImageTower
            ?? throw new OptionException($"Grad-CAM needs an image tower it can cut after a layer (CLIP ViT, ResNet dual encoder); {model.GetType().Name} is not one");
        Layer = layer ?? tower.DefaultSplitLayer;
        if (Layer < 1 || Layer > tower.SplitLayerCount)
            throw new OptionException($"Grad-CAM layer {Layer} does not exist: the image tower has layers 1 to {tower.SplitLayerCount}");
        this.model = model;
    }

    public int Layer { get; }

    public string Description => $"gradcam (layer {Layer})";

    public SaliencyMap Explain(Tensor pixelValues, Tensor textFeature, int height, int width)
    {
        using var scope = NewDisposeScope();
        using var frozen = new RequiresGradScope(model.Module, []);
        Tensor states;
        TokenGrid grid;
        using (no_grad()) (states, grid) = tower.ImageTokensAfter(pixelValues, Layer);
        states = states.detach().requires_grad_(true);
        var features = tower.ImageFeaturesFromTokens(states, grid, Layer).to(ScalarType.Float32);
        var text = nn.functional.normalize(textFeature.to(ScalarType.Float32).to(features.device).reshape(1, -1), dim: -1);
        var score = nn.functional.normalize(features, dim: -1).matmul(text.t()).sum();
        var gradient = autograd.grad([score], [states])[0].to(ScalarType.Float32);
        var activations = states.detach().to(ScalarType.Float32);
        var weights = gradient[.., grid.Prefix..].mean([1], keepdim: true);
        var cam = activations.mul(weights).sum(-1).relu().squeeze(0);
        return SaliencyMaps.FromTokens(cam, grid, height, width);
    }
}
