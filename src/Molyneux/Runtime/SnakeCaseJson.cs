using System.Text.Json;
using System.Text.Json.Serialization;

namespace Molyneux.Runtime;

/// <summary>The JSON settings of the files Molyneux writes for other programs: snake_case names and enum values,
/// indented.</summary>
public static class SnakeCaseJson
{
    /// <summary>For files read back by Molyneux (evaluation reports, ASIF manifests): nulls are written, and reading
    /// refuses missing required values and nulls where the type forbids them.</summary>
    public static readonly JsonSerializerOptions Strict = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>For records of a run (training.json, report.json, resumable state): absent optional values are left out.</summary>
    public static readonly JsonSerializerOptions Record = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
