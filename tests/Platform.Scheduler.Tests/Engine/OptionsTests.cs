using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Platform.Scheduler.Hosting;

namespace Platform.Scheduler.Tests.Engine;

public class OptionsTests
{
    private static SchedulerOptions Bind(params string[] args) =>
        new ConfigurationBuilder().AddCommandLine(args, SchedulerOptions.SwitchMappings).Build()
            .GetSection(SchedulerOptions.Section).Get<SchedulerOptions>() ?? new SchedulerOptions();

    [Fact]
    public void Defaults_are_daprs()
    {
        var o = Bind();
        Assert.Equal(50006, o.Port);
        Assert.Equal("127.0.0.1", o.ListenAddress);
        Assert.Equal("dapr-scheduler-server-0", o.Id);
        Assert.Equal("./data", o.DataDir);
        Assert.Equal(8080, o.HealthzPort);
    }

    [Fact]
    public void Dapr_flag_names_bind()
    {
        var o = Bind("--port", "1234", "--listen-address", "0.0.0.0", "--id", "s-1", "--etcd-data-dir", "/tmp/x", "--healthz-port=9999");
        Assert.Equal(1234, o.Port);
        Assert.Equal("0.0.0.0", o.ListenAddress);
        Assert.Equal("s-1", o.Id);
        Assert.Equal("/tmp/x", o.DataDir);
        Assert.Equal(9999, o.HealthzPort);
        Assert.Equal("/tmp/y", Bind("--data-dir", "/tmp/y").DataDir);
    }

    [Theory]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("info", LogLevel.Information)]
    [InlineData("warn", LogLevel.Warning)]
    [InlineData("error", LogLevel.Error)]
    [InlineData(null, LogLevel.Information)]
    public void Log_levels(string? flag, LogLevel level) => Assert.Equal(level, SchedulerOptions.ParseLogLevel(flag));

    [Fact]
    public void Apps_trust_domains_default_to_daprs_public_and_take_a_list()
    {
        Assert.Equal(["public"], Bind().ParseAppTrustDomains());
        Assert.Equal(["example.org", "public"], Bind("--app-trust-domains", "example.org, public").ParseAppTrustDomains().Order());
    }

    [Theory]
    [InlineData("")]
    [InlineData(",")]
    [InlineData("Example.org")]
    [InlineData("evil/ns/default")]
    [InlineData("public,spiffe://x")]
    public void A_malformed_apps_trust_domain_is_refused_naming_the_flag(string value)
    {
        var refused = Assert.Throws<InvalidOperationException>(() => Bind("--app-trust-domains", value).ParseAppTrustDomains());
        Assert.Contains("--app-trust-domains", refused.Message, StringComparison.Ordinal);
    }
}
