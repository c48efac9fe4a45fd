using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using Molyneux.Modeling;
using Molyneux.Worlds;

namespace Molyneux.Tests.Runtime;

/// <summary>TorchSharp 0.107 frees a Scalar in its finalizer, and a Scalar made on the fly (a number where libtorch
/// wants a Scalar, <c>a + b</c>'s implicit alpha = 1) is unreachable while libtorch still reads it: a garbage collection
/// on another thread then crashes the call ("Unknown scalar type", "Expected false to be true … Scalar.h") or feeds it
/// a wrong number. The library's code must go through LiveScalars instead; this test reads its IL for the calls that
/// make such Scalars.</summary>
public sealed partial class LiveScalarsTests
{
    /// <summary>Code that runs once per model or file, not in a loop, where the race is out of reach in practice.</summary>
    private static readonly HashSet<string> OnceOnly =
    [
        "ClipInitialization.Apply", "ClipInitialization.ApplyVision", "ClipInitialization.Normal",
        "CocaInitialization.Apply", "CocaInitialization.InitializeLayer", "CocaInitialization.Normal",
        "AnchorMatrix.Quantized", "ImageDecoder.SavePng", "Lora.Adapter..ctor",
    ];

    /// <summary>The library and the worlds at its edge (which train encoders and draw batches too).</summary>
    public static TheoryData<string> LibraryAssemblies => [typeof(ClipModel).Assembly.Location, typeof(ShapesWorld).Assembly.Location];

    [Theory]
    [MemberData(nameof(LibraryAssemblies))]
    public void No_temporary_scalar_reaches_libtorch_from_the_library(string assemblyPath)
    {
        var offenders = TemporaryScalarCalls(assemblyPath)
            .Where(call => !call.Method.EndsWith(".cctor", StringComparison.Ordinal) && !OnceOnly.Contains(call.Method))
            .Select(call => $"{call.Method} calls {call.Callee}")
            .Distinct()
            .ToList();
        Assert.True(offenders.Count == 0, "temporary Scalars (use LiveScalars):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void The_check_sees_an_implicit_alpha_and_a_number_turned_into_a_scalar()
    {
        var calls = TemporaryScalarCalls(typeof(LiveScalarsTests).Assembly.Location).Select(call => call.Method).ToHashSet();
        Assert.Contains("LiveScalarsTests.SumsWithImplicitAlpha", calls);
        Assert.Contains("LiveScalarsTests.ScalesByANumber", calls);
        Assert.DoesNotContain("LiveScalarsTests.No_temporary_scalar_reaches_libtorch_from_the_library", calls);
    }

    private static TorchSharp.torch.Tensor SumsWithImplicitAlpha(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) => a + b;

    private static TorchSharp.torch.Tensor ScalesByANumber(TorchSharp.torch.Tensor a) => a.mul(2.0);

    /// <summary>Calls that build a Scalar which nothing keeps alive: a conversion at the call site, a TorchSharp
    /// operator taking a number, or an overload that supplies alpha = 1 itself. Methods are named Type.Method, with
    /// lambdas and local functions counted in the method that contains them.</summary>
    private static IEnumerable<(string Method, string Callee)> TemporaryScalarCalls(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var calls = new List<(string, string)>();
        foreach (var typeHandle in metadata.TypeDefinitions)
        {
            var type = metadata.GetTypeDefinition(typeHandle);
            foreach (var methodHandle in type.GetMethods())
            {
                var method = metadata.GetMethodDefinition(methodHandle);
                if (method.RelativeVirtualAddress == 0) continue;
                var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader();
                while (il.RemainingBytes > 0)
                {
                    int opcode = il.ReadByte();
                    if (opcode == 0xFE) opcode = 0xFE00 | il.ReadByte();
                    if (opcode is 0x28 or 0x6F or 0x73) // call, callvirt, newobj
                    {
                        var callee = MetadataTokens.EntityHandle(il.ReadInt32());
                        if (callee.Kind == HandleKind.MemberReference && MakesTemporaryScalar(metadata, (MemberReferenceHandle)callee, out var name))
                            calls.Add((Owner(metadata, type, metadata.GetString(method.Name)), name));
                    }
                    else SkipOperand(opcode, ref il);
                }
            }
        }
        return calls;
    }

    private static bool MakesTemporaryScalar(MetadataReader metadata, MemberReferenceHandle handle, out string name)
    {
        var member = metadata.GetMemberReference(handle);
        var typeName = member.Parent.Kind == HandleKind.TypeReference ? metadata.GetString(metadata.GetTypeReference((TypeReferenceHandle)member.Parent).Name) : "";
        var memberName = metadata.GetString(member.Name);
        var parameters = member.GetKind() == MemberReferenceKind.Method
            ? member.DecodeMethodSignature(new TypeNames(), null).ParameterTypes.ToArray()
            : [];
        name = $"{typeName}.{memberName}({string.Join(", ", parameters)})";
        if (typeName == "Scalar" && memberName == "op_Implicit") return true;
        if (typeName != "Tensor") return false;
        var numbers = parameters.Count(p => p is "double" or "single" or "int32" or "int64");
        return (memberName.StartsWith("op_", StringComparison.Ordinal) && memberName != "op_Implicit" && numbers > 0)
               || (memberName is "add" or "add_" && parameters.Length == 1)
               || (memberName == "op_Addition" && numbers == 0)
               || (memberName == "addcdiv_" && parameters.Length == 2);
    }

    /// <summary>"Type.Method" of the source method: nested compiler-made types belong to their outer type, and
    /// "&lt;Method&gt;b__0" or "&lt;Method&gt;g__Local|1_0" to Method.</summary>
    private static string Owner(MetadataReader metadata, TypeDefinition type, string method)
    {
        var names = new List<string>();
        for (var current = type; ; current = metadata.GetTypeDefinition(current.GetDeclaringType()))
        {
            var typeName = metadata.GetString(current.Name);
            if (!typeName.StartsWith('<')) names.Insert(0, typeName);
            if (current.GetDeclaringType().IsNil) break;
        }
        var enclosing = EnclosingMethod().Match(method);
        return string.Join('.', names) + "." + (enclosing.Success ? enclosing.Groups[1].Value : method);
    }

    [GeneratedRegex(@"^<([^>]+)>")]
    private static partial Regex EnclosingMethod();

    private static void SkipOperand(int opcode, ref BlobReader il)
    {
        if (opcode == 0x45) // switch: a count, then that many branch targets
        {
            // Read the count before taking the offset: `Offset += 4 * ReadInt32()` would take it first and land 4 bytes short.
            var targets = il.ReadInt32();
            il.Offset += 4 * targets;
            return;
        }
        il.Offset += opcode switch
        {
            >= 0x0E and <= 0x13 or 0x1F or >= 0x2B and <= 0x37 or 0xDE or 0xFE12 or 0xFE19 => 1,
            0xFE09 or 0xFE0A or 0xFE0B or 0xFE0C or 0xFE0D or 0xFE0E => 2,
            0x20 or 0x22 or >= 0x38 and <= 0x44 or 0x27 or 0x29 or 0xDD or 0xFE06 or 0xFE07 or 0xFE15 or 0xFE16 or 0xFE1C
                or 0x70 or 0x71 or 0x72 or 0x74 or 0x75 or 0x79 or >= 0x7B and <= 0x81 or 0x8C or 0x8D or 0x8F
                or 0xA3 or 0xA4 or 0xA5 or 0xC2 or 0xC6 or 0xD0 => 4,
            0x21 or 0x23 => 8,
            _ => 0,
        };
    }

    private sealed class TypeNames : ISignatureTypeProvider<string, object?>
    {
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString().ToLowerInvariant();
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => reader.GetString(reader.GetTypeDefinition(handle).Name);
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => reader.GetString(reader.GetTypeReference(handle).Name);
        public string GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) => "generic";
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[,]";
        public string GetByReferenceType(string elementType) => elementType + "&";
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetGenericInstantiation(string genericType, System.Collections.Immutable.ImmutableArray<string> typeArguments) => genericType;
        public string GetGenericTypeParameter(object? context, int index) => "T" + index;
        public string GetGenericMethodParameter(object? context, int index) => "M" + index;
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public string GetPinnedType(string elementType) => elementType;
    }
}
