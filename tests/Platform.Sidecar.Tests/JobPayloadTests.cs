using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Platform.Sidecar.AppChannel;

namespace Platform.Sidecar.Tests;

public class JobPayloadTests
{
    private static string Body(Any? data) => Encoding.UTF8.GetString(JobPayload.HttpBody(data).Span);

    [Theory]
    [InlineData("\"someData\"", "\"someData\"")]
    [InlineData("\"\\\"xyz\\\"\"", "\"\\\"xyz\\\"\"")]
    [InlineData("123", "123")]
    [InlineData("{\"expression\":\"val\"}", "{\"expression\":\"val\"}")]
    [InlineData("  {    \"expression\":   \"val\" } ", "{\"expression\":\"val\"}")]
    [InlineData("true", "true")]
    [InlineData("\"true\"", "\"true\"")]
    [InlineData("1.5", "1.5")]
    [InlineData("[1,\"a\",null]", "[1,\"a\",null]")]
    [InlineData("{\"@type\":\"type.googleapis.com/google.protobuf.StringValue\",\"value\":\"aproto\"}",
        "{\"@type\":\"type.googleapis.com/google.protobuf.StringValue\",\"value\":\"aproto\"}")]
    public void Value_data_is_sent_as_compact_json(string json, string expected)
    {
        var value = Value.Parser.ParseJson(json);
        Assert.Equal(expected, Body(Any.Pack(value)));
    }

    [Fact]
    public void No_data_and_empty_value_give_an_empty_body()
    {
        Assert.Equal("", Body(null));
        Assert.Equal("", Body(Any.Pack(new Value())));
    }

    [Fact]
    public void Other_types_are_raw_bytes_trimmed_of_go_white_space()
    {
        Assert.Equal("hello world", Body(Any.Pack(new StringValue { Value = "hello world" })));
        Assert.Equal("hello world", Body(Any.Pack(new BytesValue { Value = ByteString.CopyFromUtf8("hello world") })));
        Assert.Equal(new byte[] { 0x08, 0x7B }, JobPayload.HttpBody(Any.Pack(new Int64Value { Value = 123 })).ToArray());
        var custom = new Any { TypeUrl = "type.googleapis.com/google.type.Expr", Value = ByteString.CopyFromUtf8("{\"expression\": \"val\"}") };
        Assert.Equal("{\"expression\": \"val\"}", Body(custom));
    }

    [Fact]
    public void Trim_space_follows_go_unicode_white_space()
    {
        var input = Encoding.UTF8.GetBytes("\u00a0\t\n\v\f\r \u0085x y\u3000\u2028");
        Assert.Equal("x y", Encoding.UTF8.GetString(GoBytes.TrimSpace(input).Span));
        var invalid = new byte[] { 0x20, 0xff, 0x20 };
        Assert.Equal(new byte[] { 0xff }, GoBytes.TrimSpace(invalid).ToArray());
    }
}
