using System.Globalization;
using System.Text.Json;

namespace AppHost.Tests;

/// <summary>
/// The AppHost started by <c>aspire start</c> (detached, isolated ports and user secrets) on a temporary data directory,
/// shared by <see cref="AspireCliTests"/>. It remembers every process the run had (AppHost, the CLI's detached child,
/// DCP, each resource's process and its children) with its start time, so that whatever happens, everything is ended by
/// pid at the end and nothing another run owns is touched.
/// </summary>
public sealed class AspireCliAppFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(240);
    public static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<int, string> _processes = [];

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("apphost-cli-tests-").FullName;

    public int AppHostPid { get; private set; }

    public Uri BackupApi { get; private set; } = null!;

    /// <summary>Set once a test has stopped the app with <c>aspire stop</c>.</summary>
    public bool Stopped { get; set; }

    public Task<AspireCli.Result> CliAsync(params string[] args) => AspireCli.RunAsync(DataDirectory, AspireCli.CallTimeout, args);

    public async Task InitializeAsync()
    {
        var start = await AspireCli.RunAsync(DataDirectory, StartTimeout,
            "start", "--no-build", "--isolated", "--format", "Json", "--",
            $"--AppHost:DataDirectory={DataDirectory}", "--Demo:Schedule=@every 2s", "--Demo:Repeats=1000", "--Demo:KeepLast=100",
            $"--Parameters:backupapi-key={RunningApp.ApiKey}");
        Assert.True(start.ExitCode == 0, start.Output);
        var started = start.Json;
        AppHostPid = started.GetProperty("appHostPid").GetInt32();
        Remember(AppHostPid);
        if (started.TryGetProperty("cliPid", out var cli) && cli.ValueKind == JsonValueKind.Number) Remember(cli.GetInt32());

        foreach (var resource in (string[])["backupworker", "backupapi"])
        {
            var wait = await AspireCli.RunAsync(DataDirectory, StartTimeout, "wait", resource, "--status", "healthy", "--timeout", "200");
            Assert.True(wait.ExitCode == 0, wait.Output);
        }
        var resources = await DescribeAsync(includeHidden: true);
        BackupApi = new Uri(resources.Single(r => r.GetProperty("displayName").GetString() == "backupapi")
            .GetProperty("urls").EnumerateArray().First(u => u.GetProperty("name").GetString() == "http").GetProperty("url").GetString()!);
        RememberAll();
    }

    /// <summary>The resources <c>aspire describe --format Json</c> lists (hidden ones too with <paramref name="includeHidden"/>).</summary>
    public async Task<IReadOnlyList<JsonElement>> DescribeAsync(bool includeHidden = false)
    {
        var describe = await CliAsync(includeHidden ? ["describe", "--format", "Json", "--include-hidden"] : ["describe", "--format", "Json"]);
        Assert.True(describe.ExitCode == 0, describe.Output);
        RememberResourcePids(describe.Json);
        return [.. describe.Json.GetProperty("resources").EnumerateArray()];
    }

    /// <summary>
    /// As <see cref="DescribeAsync"/>, for polling: a failed call counts as "not yet" (a job joins the model while the
    /// jobs view runs, and a describe walking the model at that instant fails once).
    /// </summary>
    public async Task<IReadOnlyList<JsonElement>> TryDescribeAsync()
    {
        var describe = await CliAsync("describe", "--format", "Json");
        return describe.ExitCode == 0 ? [.. describe.Json.GetProperty("resources").EnumerateArray()] : [];
    }

    /// <summary>Every process of the run that is alive now: the AppHost's tree, DCP's, and each resource's.</summary>
    public void RememberAll()
    {
        foreach (var pid in _processes.Keys.ToList()) foreach (var child in TestSupport.ProcessProbe.TreeOf(pid)) Remember(child);
        // DCP: its API server monitors the AppHost; its controllers share the API server's kubeconfig.
        foreach (var dcp in TestSupport.ProcessProbe.Mentioning($"--monitor {AppHostPid.ToString(CultureInfo.InvariantCulture)}"))
        {
            Remember(dcp);
            if (KubeconfigOf(dcp) is { } kubeconfig) foreach (var pid in TestSupport.ProcessProbe.Mentioning(kubeconfig)) Remember(pid);
        }
        foreach (var pid in TestSupport.ProcessProbe.Mentioning(DataDirectory)) Remember(pid);
    }

    /// <summary>The remembered processes still running as the same process (a recycled pid does not count).</summary>
    public IReadOnlyList<int> Alive()
        => [.. _processes.Where(p => TestSupport.ProcessProbe.StartTicks(p.Key) == p.Value && TestSupport.ProcessProbe.IsAlive(p.Key)).Select(p => p.Key)];

    public IReadOnlyCollection<int> Remembered => _processes.Keys;

    public async Task DisposeAsync()
    {
        if (!Stopped && AppHostPid != 0)
        {
            RememberAll();
            try { await CliAsync("stop"); }
            catch (TimeoutException) { } // killed below
        }
        var runtimeFiles = TestSupport.RuntimeTempFiles.Of(Alive());
        using (var cts = new CancellationTokenSource(ExitTimeout))
            while (Alive().Count > 0 && !cts.IsCancellationRequested) await Task.Delay(200, CancellationToken.None);
        foreach (var pid in Alive())
        {
            try { System.Diagnostics.Process.GetProcessById(pid).Kill(entireProcessTree: true); }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
        runtimeFiles.Remove();
        try { Directory.Delete(DataDirectory, recursive: true); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }

    private void RememberResourcePids(JsonElement describe)
    {
        foreach (var resource in describe.GetProperty("resources").EnumerateArray())
            if (resource.GetProperty("properties").TryGetProperty("executable.pid", out var pid) && pid.ValueKind == JsonValueKind.Number)
                Remember(pid.GetInt32());
    }

    private void Remember(int pid)
    {
        if (TestSupport.ProcessProbe.StartTicks(pid) is { } ticks) _processes.TryAdd(pid, ticks);
    }

    private static string? KubeconfigOf(int pid)
    {
        try
        {
            var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            var at = Array.IndexOf(args, "--kubeconfig");
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        }
        catch (IOException) { return null; }
    }
}
