using System.Diagnostics;
using System.Net.Sockets;
using TestSupport;

namespace BackupWorker.Tests;

/// <summary>
/// A real Azurite blob service (Microsoft's Azure Storage emulator, a Node process) on a free loopback port, its data
/// in a temp directory; <see cref="StopAsync"/> and <see cref="StartAsync"/> stop and start it on the same data and port.
/// Found under <c>AZURITE_HOME</c> or the repository's <c>.tools/azurite</c> (where test.sh installs it).
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    // Azurite's well-known development account (public, in Microsoft's documentation); it guards nothing.
    private const string Account = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _data = Directory.CreateTempSubdirectory("azurite-").FullName;
    private readonly int _port = FreePort.Next();
    private TestProcess? _process;

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{_port}/{Account};";

    public static string BlobMain()
    {
        var home = Environment.GetEnvironmentVariable("AZURITE_HOME") is { Length: > 0 } env ? env : Path.Combine(RepoPaths.Root, ".tools", "azurite");
        var main = Path.Combine(home, "node_modules", "azurite", "dist", "src", "blob", "main.js");
        return File.Exists(main) ? main : throw new FileNotFoundException("Azurite is not installed (run test.sh, or set AZURITE_HOME).", main);
    }

    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo("node") { ArgumentList = { BlobMain(), "--blobHost", "127.0.0.1", "--blobPort", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", _data, "--skipApiVersionCheck", "--loose" } };
        _process = TestProcess.Start("azurite", psi);
        await _process.WaitForOutputAsync(line => line.Contains("successfully listens", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    public async Task StopAsync()
    {
        if (_process is null) return;
        // SIGTERM: Azurite saves its metadata (containers, blob lists) as it exits; a SIGKILL could lose the last seconds' worth.
        await _process.StopAsync(TimeSpan.FromSeconds(20));
        await _process.DisposeAsync();
        _process = null;
        // Stopped means refused: the port no longer answers.
        await Poll.UntilAsync(() =>
        {
            using var client = new TcpClient();
            try { client.Connect("127.0.0.1", _port); return Task.FromResult(false); } catch (SocketException) { return Task.FromResult(true); }
        }, TimeSpan.FromSeconds(30), "Azurite's port to close");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}
