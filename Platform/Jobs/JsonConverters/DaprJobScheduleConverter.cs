using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Jobs.Models;

namespace Platform.Jobs.JsonConverters;

/// <summary>A schedule travels in JSON as its expression string.</summary>
internal sealed class DaprJobScheduleConverter : JsonConverter<DaprJobSchedule>
{
    public override DaprJobSchedule? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : DaprJobSchedule.FromExpression(reader.GetString()!);

    public override void Write(Utf8JsonWriter writer, DaprJobSchedule value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ExpressionValue);
}
