using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Platform.Sidecar.AppChannel;

/// <summary>What daprd puts in the body of <c>POST /job/&lt;name&gt;</c> for a job's data.</summary>
public static class JobPayload
{
    public const string ValueTypeUrl = "type.googleapis.com/google.protobuf.Value";

    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// A google.protobuf.Value becomes its compact JSON (empty for a Value with no kind); no data, an empty body;
    /// any other type the Any's raw value bytes with Go white space trimmed (which is why a StringValue arrives as its text).
    /// </summary>
    public static ReadOnlyMemory<byte> HttpBody(Any? data)
    {
        if (data is null) return ReadOnlyMemory<byte>.Empty;
        if (data.TypeUrl == ValueTypeUrl)
        {
            Value value;
            try { value = Value.Parser.ParseFrom(data.Value); }
            catch (InvalidProtocolBufferException) { return GoBytes.TrimSpace(data.Value.Memory); }
            return value.KindCase == Value.KindOneofCase.None ? ReadOnlyMemory<byte>.Empty : ToCompactJson(value);
        }
        return GoBytes.TrimSpace(data.Value.Memory);
    }

    public static byte[] ToCompactJson(Value value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Compact)) Write(writer, value);
        return buffer.ToArray();
    }

    private static void Write(Utf8JsonWriter w, Value value)
    {
        switch (value.KindCase)
        {
            case Value.KindOneofCase.NullValue: w.WriteNullValue(); break;
            case Value.KindOneofCase.BoolValue: w.WriteBooleanValue(value.BoolValue); break;
            case Value.KindOneofCase.StringValue: w.WriteStringValue(value.StringValue); break;
            case Value.KindOneofCase.NumberValue:
                var n = value.NumberValue;
                if (double.IsFinite(n) && Math.Floor(n) == n && Math.Abs(n) < 1e21) w.WriteRawValue(((decimal)n).ToString(System.Globalization.CultureInfo.InvariantCulture));
                else w.WriteNumberValue(n);
                break;
            case Value.KindOneofCase.StructValue:
                w.WriteStartObject();
                // Go's protojson writes map keys of a Struct in sorted order.
                foreach (var (k, v) in value.StructValue.Fields.OrderBy(f => f.Key, StringComparer.Ordinal))
                {
                    w.WritePropertyName(k);
                    Write(w, v);
                }
                w.WriteEndObject();
                break;
            case Value.KindOneofCase.ListValue:
                w.WriteStartArray();
                foreach (var v in value.ListValue.Values) Write(w, v);
                w.WriteEndArray();
                break;
            default: w.WriteNullValue(); break;
        }
    }
}
