using Molyneux.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Onnx;

/// <summary>torchvision's ResNet (resnet.py) without its classifier, as an image tower: conv1, bn1, relu, maxpool,
/// layer1 to layer4 of <see cref="ResNetBasicBlock"/>s, avgpool. <see cref="forward"/> gives the pooled features
/// [batch, 512] (what torchvision feeds its fc); <see cref="FeatureMap"/> the last stage's map before pooling.
/// BatchNorm stays a layer with its running statistics (not folded into the convolutions), so the tower can be put in
/// training mode and fine-tuned, or differentiated through for inversion; after an import it is in eval mode.</summary>
public sealed class ResNetModel : Module<Tensor, Tensor>, IImageTower
{
    public readonly Conv2d conv1;
    public readonly BatchNorm2d bn1;
    public readonly ReLU relu;
    public readonly MaxPool2d maxpool;
    public readonly Sequential layer1;
    public readonly Sequential layer2;
    public readonly Sequential layer3;
    public readonly Sequential layer4;
    public readonly AdaptiveAvgPool2d avgpool;

    public ResNetModel(ResNetConfig config) : base(nameof(ResNetModel))
    {
        config.Validate(nameof(ResNetConfig));
        Config = config;
        conv1 = Conv2d(3, ResNetConfig.StemWidth, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(ResNetConfig.StemWidth, config.BatchNormEps);
        relu = ReLU();
        maxpool = MaxPool2d(3, stride: 2, padding: 1);
        layer1 = Stage(config, 0);
        layer2 = Stage(config, 1);
        layer3 = Stage(config, 2);
        layer4 = Stage(config, 3);
        avgpool = AdaptiveAvgPool2d(1);
        RegisterComponents();
    }

    public ResNetConfig Config { get; }

    nn.Module IImageTower.Module => this;

    public int FeatureWidth => Config.FeatureWidth;

    int IImageTower.StageCount => StageCount;

    public string Description => $"ResNet of basic blocks, stages [{string.Join(", ", Config.Layers)}], {FeatureWidth} features";

    public string HuggingFaceName(string moduleName) => ResNetNaming.HuggingFaceName(moduleName);

    public bool IsIgnorable(string fileName) => false;

    public IEnumerable<Parameter> ParametersFromStage(int stage) => StageModules.Skip(stage).SelectMany(module => module.parameters());

    /// <summary>A feature map [N, C, h, w] read as h·w tokens of C channels.</summary>
    public (Tensor Tokens, TokenGrid Grid) AsTokens(Tensor hidden) =>
        (hidden.flatten(2).transpose(1, 2), new TokenGrid(0, (int)hidden.shape[2], (int)hidden.shape[3]));

    public Tensor FromTokens(Tensor tokens, TokenGrid grid) =>
        tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], grid.Height, grid.Width);

    /// <summary>The pooled features [batch, 512] of preprocessed pixels [batch, 3, H, W].</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        return Pool(FeatureMap(pixelValues)).MoveToOuterDisposeScope();
    }

    /// <summary>layer4's output [batch, 512, H/32, W/32], post-ReLU.</summary>
    public Tensor FeatureMap(Tensor pixelValues) => Stages(Stem(pixelValues), 0, StageCount);

    public const int StageCount = 4;

    /// <summary>The stages 1-based: layer1 to layer4.</summary>
    public IReadOnlyList<Sequential> StageModules => [layer1, layer2, layer3, layer4];

    /// <summary>conv1, bn1, relu and maxpool: the stem's output [batch, 64, H/4, W/4].</summary>
    public Tensor Stem(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var x = InInferenceLayout(pixelValues);
        return StandardLayout(maxpool.forward(relu.forward(bn1.forward(conv1.forward(x))))).MoveToOuterDisposeScope();
    }

    /// <summary>Stages <paramref name="from"/> (0-based) up to <paramref name="to"/> (exclusive) applied to a stem or
    /// stage output; with <see cref="Pool"/> after the last one, what a caller that keeps the lower stages' outputs
    /// (frozen, computed once) needs to train the upper ones.</summary>
    public Tensor Stages(Tensor input, int from, int to)
    {
        using var scope = NewDisposeScope();
        var x = InInferenceLayout(input);
        foreach (var stage in StageModules.Take(to).Skip(from)) x = stage.forward(x);
        return StandardLayout(x).MoveToOuterDisposeScope();
    }

    /// <summary>Global average pooling of layer4's output: [batch, 512].</summary>
    public Tensor Pool(Tensor featureMap)
    {
        using var scope = NewDisposeScope();
        return avgpool.forward(featureMap).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>A batch laid out channels-last (NHWC strides, same shape) when it is only encoded on a CPU: libtorch's
    /// CPU convolutions (oneDNN) are faster on NHWC activations, and every layer after the first convolution keeps the
    /// layout. Measured (docs/performance.md): +20 % images/s at batch 32, slower for one image; not measured on a GPU
    /// or with gradients (fine-tuning, inversion), which keep the standard layout.</summary>
    private static Tensor InInferenceLayout(Tensor batch) =>
        is_grad_enabled() || batch.shape[0] == 1 || batch.device_type != TorchSharp.DeviceType.CPU
            ? batch.alias()
            : batch.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>The standard contiguous [batch, C, h, w] layout callers read maps in (a no-op when already so).</summary>
    private static Tensor StandardLayout(Tensor map) => map.contiguous();

    private static Sequential Stage(ResNetConfig config, int stage)
    {
        var width = ResNetConfig.StageWidth(stage);
        var inputWidth = stage == 0 ? ResNetConfig.StemWidth : ResNetConfig.StageWidth(stage - 1);
        var blocks = new List<Module<Tensor, Tensor>>();
        for (var block = 0; block < config.Layers[stage]; block++)
            blocks.Add(new ResNetBasicBlock(block == 0 ? inputWidth : width, width, block == 0 && stage > 0 ? 2 : 1, config.BatchNormEps));
        return Sequential(blocks);
    }
}
