using Platform.Security;
using TestSupport;

namespace Platform.Sentry.Tests;

/// <summary>
/// The real Sentry process (Platform.Sentry.dll) on free loopback ports, signing with the tests' certificate authority
/// (handed over in a file it deletes on start), so that its certificates chain to the anchors every test process trusts.
/// </summary>
public sealed class SentryProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private SentryProcess(TestProcess process, int port, string handoff)
    {
        Process = process;
        Port = port;
        HandoffFile = handoff;
    }

    public TestProcess Process { get; }
    public int Port { get; }
    /// <summary>For <c>--sentry-address</c>.</summary>
    public string Address => $"127.0.0.1:{Port}";
    public string HandoffFile { get; }

    /// <param name="tokens">Each identity that may ask, with its bootstrap token.</param>
    public static async Task<SentryProcess> StartAsync(IReadOnlyDictionary<SpiffeId, string> tokens, string workloadCertTtl)
    {
        var directory = Directory.CreateTempSubdirectory("sentry-test-").FullName;
        var handoff = Path.Combine(directory, "ca.pem");
        var (root, key) = TestIdentity.Authority.ExportForSentry();
        File.WriteAllText(handoff, root + "\n" + key + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(handoff, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var port = FreePort.Next();
        var healthz = FreePort.Next();
        var process = TestProcess.StartDotnet("sentry", RepoPaths.ProjectOutput("Platform/Sentry", "Platform.Sentry"),
            ["--port", port.ToString(), "--healthz-port", healthz.ToString(), "--listen-address", "127.0.0.1",
             "--workload-cert-ttl", workloadCertTtl, "--ca-credentials-file", handoff],
            new Dictionary<string, string?> { ["SENTRY_BOOTSTRAP_TOKENS"] = string.Join(",", tokens.Select(t => BootstrapTokens.Entry(t.Key, t.Value))) });
        var sentry = new SentryProcess(process, port, handoff);
        try
        {
            await process.WaitForHealthyAsync(Http, $"http://127.0.0.1:{healthz}/healthz", TimeSpan.FromSeconds(60));
        }
        catch
        {
            await sentry.DisposeAsync();
            throw;
        }
        return sentry;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        try { Directory.Delete(Path.GetDirectoryName(HandoffFile)!, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
