using Molyneux.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Molyneux.Onnx;

/// <summary>torchvision's BasicBlock: two 3×3 convolutions with BatchNorm, a ReLU between them, and the input added
/// back before the last ReLU, through a 1×1 convolution and BatchNorm (downsample.0, downsample.1) when the block
/// changes the width or strides. Field names are torchvision's, so the parameters carry its names.</summary>
public sealed class ResNetBasicBlock : Module<Tensor, Tensor>
{
    public readonly Conv2d conv1;
    public readonly BatchNorm2d bn1;
    public readonly ReLU relu;
    public readonly Conv2d conv2;
    public readonly BatchNorm2d bn2;
    public readonly Sequential? downsample;

    public ResNetBasicBlock(int inputWidth, int width, int stride, double batchNormEps) : base(nameof(ResNetBasicBlock))
    {
        conv1 = Conv2d(inputWidth, width, 3, stride: stride, padding: 1, bias: false);
        bn1 = BatchNorm2d(width, batchNormEps);
        relu = ReLU();
        conv2 = Conv2d(width, width, 3, stride: 1, padding: 1, bias: false);
        bn2 = BatchNorm2d(width, batchNormEps);
        if (stride != 1 || inputWidth != width)
            downsample = Sequential(Conv2d(inputWidth, width, 1, stride: stride, bias: false), BatchNorm2d(width, batchNormEps));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var shortcut = downsample is null ? input : downsample.forward(input);
        var branch = bn2.forward(conv2.forward(relu.forward(bn1.forward(conv1.forward(input)))));
        return relu.forward(branch.Plus(shortcut)).MoveToOuterDisposeScope();
    }
}
