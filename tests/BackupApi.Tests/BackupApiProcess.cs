using TestSupport;

namespace BackupApi.Tests;

/// <summary>BackupApi as its own process in front of a stand-in sidecar, with an operator client that holds the key.</summary>
internal sealed class BackupApiProcess : IAsyncDisposable
{
    public const string OperatorKey = "api-operator-key-0123456789";

    private BackupApiProcess(TestProcess process, HttpClient http)
    {
        Process = process;
        Http = http;
    }

    public TestProcess Process { get; }

    /// <summary>Sends the operator key with every request.</summary>
    public HttpClient Http { get; }

    public static async Task<BackupApiProcess> StartAsync(int sidecarPort, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var apiPort = FreePort.Next();
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{apiPort}",
            ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{sidecarPort}",
            ["DAPR_HTTP_PORT"] = sidecarPort.ToString(),
            ["DAPR_API_TOKEN"] = "api-token",
            ["BackupApi__ApiKey"] = OperatorKey,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>()) environment[name] = value;
        var process = TestProcess.StartDotnet("backupapi", RepoPaths.ProjectOutput("BackupApi", "BackupApi"), [], environment);
        try
        {
            await process.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Api-Key", OperatorKey);
        return new BackupApiProcess(process, http);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Process.DisposeAsync();
    }
}
