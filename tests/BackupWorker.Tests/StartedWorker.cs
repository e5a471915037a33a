using TestSupport;

namespace BackupWorker.Tests;

/// <summary>BackupWorker as a process (its build output) over a temp data directory prepared by the test; no sidecar.</summary>
internal sealed class StartedWorker : IAsyncDisposable
{
    private StartedWorker(TestProcess process, HttpClient http, string dataDirectory) => (Process, Http, DataDirectory) = (process, http, dataDirectory);

    public TestProcess Process { get; }
    public HttpClient Http { get; }
    public string DataDirectory { get; }

    /// <summary>Starts the worker; returns at once (see <see cref="StartAsync"/> to wait for it to listen).</summary>
    public static StartedWorker Launch(Action<string>? prepare = null, IDictionary<string, string?>? settings = null)
    {
        var port = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("backupworker-start-").FullName;
        try
        {
            prepare?.Invoke(data);
        }
        catch
        {
            Directory.Delete(data, recursive: true);
            throw;
        }
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Backup__DataDirectory"] = data,
            ["Demo__Enabled"] = "false",
            ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{FreePort.Next()}", // nothing listens: no sidecar
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) env[k] = v;
        var process = TestProcess.StartDotnet("backupworker", RepoPaths.ProjectOutput("BackupWorker", "BackupWorker"), [], env);
        return new StartedWorker(process, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) }, data);
    }

    /// <summary>Starts the worker and waits (bounded) until it listens.</summary>
    public static async Task<StartedWorker> StartAsync(Action<string>? prepare = null, IDictionary<string, string?>? settings = null)
    {
        var worker = Launch(prepare, settings);
        try
        {
            await worker.Process.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
        return worker;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Process.DisposeAsync();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
