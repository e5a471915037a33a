using System.Diagnostics;
using Xunit;

namespace TestSupport;

/// <summary>Skips a test, saying why, when Azurite is not installed (test.sh installs it).</summary>
public sealed class AzuriteFactAttribute : FactAttribute
{
    public AzuriteFactAttribute()
    {
        if (AzuriteProcess.MissingReason is { } reason) Skip = reason;
    }
}

/// <summary>
/// A real Azurite blob service (the npm package test.sh installs under <c>.tools/azurite</c>) on a free loopback port,
/// its data in a temp directory. It can be stopped and started again on the same data and port, as a storage outage.
/// A <see cref="TestProcess"/>: it dies with the test host, and is killed by pid (and its data deleted) on dispose.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account: public, documented, not a secret.</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const string EnvironmentOverride = "AZURITE_BLOB_MAIN";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly string _dataDir;
    private TestProcess? _process;

    private AzuriteProcess(string dataDir)
    {
        _dataDir = dataDir;
        Port = FreePort.Next();
    }

    /// <summary>Azurite's blob entry point: <c>$AZURITE_BLOB_MAIN</c>, or the copy test.sh installs in the repository.</summary>
    public static string BlobMain { get; } = Environment.GetEnvironmentVariable(EnvironmentOverride) is { Length: > 0 } path
        ? path
        : Path.Combine(RepoPaths.Root, ".tools", "azurite", "node_modules", "azurite", "dist", "src", "blob", "main.js");

    public static string? MissingReason => File.Exists(BlobMain)
        ? null
        : $"Azurite is not installed (missing {BlobMain}); test.sh installs it with npm, or set {EnvironmentOverride}.";

    public int Port { get; private set; }

    public string BlobEndpoint => $"http://127.0.0.1:{Port}/{AccountName}";

    /// <summary>A storage connection string for the development account on this Azurite.</summary>
    public string ConnectionString => ConnectionStringWithKey(AccountKey);

    /// <summary>The same with another account key: credentials Azurite refuses.</summary>
    public string ConnectionStringWithKey(string accountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={accountKey};BlobEndpoint={BlobEndpoint};";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts Azurite on a free port and a fresh temp data directory, and waits until it answers.</summary>
    public static async Task<AzuriteProcess> StartNewAsync()
    {
        if (MissingReason is { } missing) throw new InvalidOperationException(missing);
        var azurite = new AzuriteProcess(Directory.CreateTempSubdirectory("azurite-test-").FullName);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await azurite.StartAsync();
                    return azurite;
                }
                catch (InvalidOperationException) when (attempt < 5 && azurite._process!.Output.Any(l => l.Contains("EADDRINUSE")))
                {
                    // Something took the free port between asking and binding: another one.
                    await azurite.StopAsync();
                    azurite.Port = FreePort.Next();
                }
            }
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts (again) on the same data and port, and waits until it answers.</summary>
    public async Task StartAsync()
    {
        if (IsRunning) throw new InvalidOperationException("Azurite is already running.");
        var psi = new ProcessStartInfo("node") { WorkingDirectory = _dataDir };
        foreach (var arg in (string[])[BlobMain, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(), "--location", _dataDir,
                     "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl", "--disableTelemetry"])
            psi.ArgumentList.Add(arg);
        if (_process is not null) await _process.DisposeAsync();
        _process = TestProcess.Start("azurite", psi);
        await WaitAnsweringAsync();
    }

    /// <summary>
    /// Stops Azurite (SIGTERM to its pid, killed if it has not ended within 15 s): it saves its data, which stays for
    /// <see cref="StartAsync"/>. Slow (it waits for open connections); <see cref="KillAsync"/> is an outage's way.
    /// </summary>
    public async Task StopAsync()
    {
        if (_process is not null) await _process.StopAsync(TimeSpan.FromSeconds(15));
    }

    /// <summary>
    /// Kills Azurite by pid, as a crash or an outage ends it. It loses what it had not yet saved (it saves every few
    /// seconds), containers included, so a client must cope with a container gone after <see cref="StartAsync"/>.
    /// </summary>
    public async Task KillAsync()
    {
        if (_process is not null) await _process.KillAsync();
    }

    private async Task WaitAnsweringAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (_process!.HasExited)
            {
                await _process.WaitForExitAsync(TimeSpan.FromSeconds(10));
                throw new InvalidOperationException($"Azurite exited during start-up:{Environment.NewLine}{string.Join(Environment.NewLine, _process.Output.TakeLast(20))}");
            }
            try
            {
                // Any HTTP answer (an anonymous request is refused) means it serves requests.
                using var response = await Http.GetAsync($"{BlobEndpoint}?comp=list");
                return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Azurite did not answer on port {Port} within {StartTimeout}.");
            // A child process gives no readiness event other than answering.
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
