using Xunit;

namespace TestSupport;

/// <summary>What a process sees once the AppHost has stopped the dashboard: an OTLP endpoint where nothing listens.</summary>
public static class UnreachableTelemetry
{
    /// <summary>How long the orchestrator waits after SIGTERM before it kills a process.</summary>
    public static readonly TimeSpan OrchestratorGrace = TimeSpan.FromSeconds(6);

    /// <summary>The endpoint, with failed exports retried (up to the exporter's 10 s timeout) as the AppHost sets it.</summary>
    public static Dictionary<string, string?> Environment() => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{FreePort.Next()}",
        ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory",
    };

    /// <summary>SIGTERM, and the process must exit by itself (code 0) before the orchestrator would kill it.</summary>
    public static async Task AssertStopsByItselfAsync(TestProcess process)
    {
        var exitCode = await process.StopAsync(OrchestratorGrace);
        Assert.True(exitCode == 0, $"exit code {exitCode}: killed after {OrchestratorGrace.TotalSeconds} s rather than stopped");
    }
}
