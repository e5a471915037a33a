using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using TestSupport;

namespace AppHost.Tests;

/// <summary>
/// The AppHost's terminal settings as `dotnet run --project AppHost [--launch-profile verbose]` applies them: its
/// appsettings.json, then the launch profile's environment on top.
/// </summary>
public sealed class TerminalLoggingSettingsTests
{
    private static readonly (string Category, LogLevel Level)[] Chatter =
    [
        ("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Information), // the dashboard's gRPC calls
        ("Microsoft.AspNetCore.Routing.EndpointMiddleware", LogLevel.Information),
        ("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Warning),
        ("Aspire.Hosting.Dcp.DcpHost", LogLevel.Information),
        ("Aspire.Hosting.Dashboard.ThirdParty.Microsoft.AspNetCore.Components.Server.Circuits.CircuitHost", LogLevel.Error),
    ];

    [Fact]
    public void The_default_profile_keeps_start_up_and_warnings_and_quiets_the_chatter()
    {
        using var loggers = LoggersOf("http");
        Assert.True(loggers.CreateLogger("Aspire.Hosting.DistributedApplication").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Aspire.Hosting.Dcp.DcpHost").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
        foreach (var (category, level) in Chatter)
            Assert.False(loggers.CreateLogger(category).IsEnabled(level), $"{category} at {level} is on");
    }

    [Fact]
    public void The_verbose_profile_turns_the_chatter_back_on()
    {
        using var loggers = LoggersOf("verbose");
        foreach (var (category, level) in Chatter)
            Assert.True(loggers.CreateLogger(category).IsEnabled(level), $"{category} at {level} is off");
    }

    private static ILoggerFactory LoggersOf(string profile)
    {
        var appHost = Path.Combine(RepoPaths.Root, "AppHost");
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(appHost, "Properties", "launchSettings.json")));
        var environment = settings.RootElement.GetProperty("profiles").GetProperty(profile).GetProperty("environmentVariables")
            .EnumerateObject().Select(p => KeyValuePair.Create(p.Name.Replace("__", ":", StringComparison.Ordinal), p.Value.GetString()));
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(appHost, "appsettings.json"), optional: false)
            .AddInMemoryCollection(environment)
            .Build();
        return LoggerFactory.Create(logging => logging.AddConfiguration(configuration.GetSection("Logging")).AddProvider(new EveryLevelProvider()));
    }
}
