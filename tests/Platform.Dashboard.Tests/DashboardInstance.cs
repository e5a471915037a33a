using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;

namespace Platform.Dashboard.Tests;

/// <summary>The real dashboard process on free loopback ports (UI, OTLP/gRPC, OTLP/HTTP).</summary>
public sealed class DashboardInstance : IAsyncDisposable
{
    public required TestProcess Process { get; init; }
    public required int UiPort { get; init; }
    public required int GrpcPort { get; init; }
    public required int HttpPort { get; init; }
    public string? BrowserToken { get; init; }
    public string? ApiKey { get; init; }
    public string UiUrl => $"http://127.0.0.1:{UiPort}";
    public string OtlpGrpcUrl => $"http://127.0.0.1:{GrpcPort}";
    public string OtlpHttpUrl => $"http://127.0.0.1:{HttpPort}";

    public static async Task<DashboardInstance> StartAsync(string? browserToken = null, string? apiKey = null,
        IDictionary<string, string?>? environment = null)
    {
        int ui = FreePort.Next(), grpc = FreePort.Next(), http = FreePort.Next();
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ui}",
            ["Dashboard__Otlp__GrpcEndpointUrl"] = $"http://127.0.0.1:{grpc}",
            ["Dashboard__Otlp__HttpEndpointUrl"] = $"http://127.0.0.1:{http}",
            ["Dashboard__Otlp__PrimaryApiKey"] = apiKey,
            ["Dashboard__Frontend__BrowserToken"] = browserToken,
        };
        if (environment is not null) foreach (var (k, v) in environment) env[k] = v;
        var process = TestProcess.StartDotnet("dashboard", RepoPaths.ProjectOutput("Platform/Dashboard", "Platform.Dashboard"), [], env);
        var instance = new DashboardInstance { Process = process, UiPort = ui, GrpcPort = grpc, HttpPort = http, BrowserToken = browserToken, ApiKey = apiKey };
        try
        {
            await process.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return instance;
    }

    /// <summary>An HTTP client for the UI port, already logged in when a browser token is set.</summary>
    public async Task<HttpClient> UiClientAsync()
    {
        var handler = new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), AllowAutoRedirect = true };
        var client = new HttpClient(handler) { BaseAddress = new Uri(UiUrl), Timeout = TimeSpan.FromSeconds(10) };
        if (BrowserToken is not null)
            (await client.GetAsync("/login?t=" + Uri.EscapeDataString(BrowserToken))).EnsureSuccessStatusCode();
        return client;
    }

    public static async Task<JsonElement> StatsAsync(HttpClient ui) =>
        await ui.GetFromJsonAsync<JsonElement>("/api/telemetry/stats");

    /// <summary>Re-reads the stats until <paramref name="done"/> holds (telemetry arrives asynchronously), bounded.</summary>
    public static async Task<JsonElement> WaitForStatsAsync(HttpClient ui, Func<JsonElement, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var stats = await StatsAsync(ui);
            if (done(stats)) return stats;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Dashboard stats never reached the expected state: " + stats);
            // The dashboard raises no event a test could await across the process boundary; re-poll shortly.
            await Task.Delay(100);
        }
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
