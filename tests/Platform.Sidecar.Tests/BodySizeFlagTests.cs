using Platform.Sidecar.Hosting;
using Microsoft.Extensions.Time.Testing;
using static Platform.Sidecar.Tests.ErrorAsserts;

namespace Platform.Sidecar.Tests;

/// <summary>The body size flags of daprd, read as daprd reads them.</summary>
public class BodySizeFlagTests
{
    [Theory]
    [InlineData(new string[0], 4 * 1024 * 1024)]
    [InlineData(new[] { "--max-body-size", "1Mi" }, 1024 * 1024)]
    [InlineData(new[] { "--max-body-size", "512Ki" }, 512 * 1024)]
    [InlineData(new[] { "--max-body-size", "2M" }, 2_000_000)]
    [InlineData(new[] { "--max-body-size", "65536" }, 65536)]
    [InlineData(new[] { "--dapr-http-max-request-size", "16" }, 16 * 1024 * 1024)]
    [InlineData(new[] { "--max-body-size", "1Mi", "--dapr-http-max-request-size", "2" }, 2 * 1024 * 1024)]
    public void Sizes_bind_to_bytes(string[] args, int bytes) => Assert.Equal(bytes, Flags.Bind(args).MaxBodyBytes);

    [Theory]
    [InlineData("--max-body-size", "4MB")]
    [InlineData("--max-body-size", "-1")]
    [InlineData("--max-body-size", "0")]
    [InlineData("--max-body-size", "3Gi")]
    [InlineData("--max-body-size", "99999999999999999999")]
    [InlineData("--dapr-http-max-request-size", "x")]
    [InlineData("--app-job-timeout", "5s")]
    public void Unusable_sizes_are_refused_with_the_flag_named(string flag, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => SidecarFlags.Normalise([flag, value]));
        Assert.StartsWith($"invalid value \"{value}\" for flag {flag}: ", e.Message);
    }
}
