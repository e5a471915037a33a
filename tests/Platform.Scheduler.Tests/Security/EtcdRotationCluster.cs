using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Platform.Security;
using TestSupport;

namespace Platform.Scheduler.Tests.Security;

/// <summary>
/// One etcd member locked as the AppHost locks its members (TLS, client certificates from etcd's own CA), its
/// certificate and key in one file replaced in place as the AppHost renews it, and a Sentry that holds etcd's CA beside
/// the tests' workload root, so a scheduler can ask it for its etcd client certificate.
/// </summary>
public sealed class EtcdRotationCluster : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly string _root = Directory.CreateTempSubdirectory("etcd-rotation-").FullName;
    private readonly CertificateAuthority _etcdCa = CertificateAuthority.Create("etcd-rotation-tests etcd");
    private readonly int _clientPort = FreePort.Next();
    private readonly int _peerPort = FreePort.Next();

    private EtcdRotationCluster(string workloadTtl)
    {
        Pki = Path.Combine(_root, "pki");
        CaFile = _etcdCa.WriteTrustAnchors(Pki);
        MemberFile = Path.Combine(Pki, "m0.pem");
        SentryToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        AppToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        WorkloadTtl = workloadTtl;
    }

    public string Pki { get; }
    /// <summary>etcd's CA, for <c>--etcd-client-ca-file</c>.</summary>
    public string CaFile { get; }
    /// <summary>The member's certificate and key (its <c>--cert-file</c> and <c>--key-file</c>).</summary>
    public string MemberFile { get; }
    /// <summary>The scheduler's bootstrap token, good for its workload and its etcd client identity.</summary>
    public string SentryToken { get; }
    /// <summary>A sidecar's bootstrap token, good for its app's workload identity only.</summary>
    public string AppToken { get; }
    public string WorkloadTtl { get; }
    public TestProcess Etcd { get; private set; } = null!;
    public TestProcess Sentry { get; private set; } = null!;
    public int SentryPort { get; } = FreePort.Next();
    public string ClientEndpoint => $"127.0.0.1:{_clientPort}";

    public static async Task<EtcdRotationCluster> StartAsync(string workloadTtl, string appId)
    {
        var cluster = new EtcdRotationCluster(workloadTtl);
        try
        {
            cluster.ReplaceMemberCertificate(TimeSpan.FromHours(1));
            await cluster.StartEtcdAsync();
            await cluster.StartSentryAsync(appId);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>The scheduler's flags: the cluster, etcd's CA, and the client certificate from the Sentry.</summary>
    public string[] SchedulerArgs =>
    [
        "--sentry-address", $"127.0.0.1:{SentryPort}", "--etcd-embed=false", "--etcd-client-endpoints=" + ClientEndpoint,
        "--etcd-client-ca-file=" + CaFile, "--etcd-client-cert-from-sentry=true", "--Scheduler:Etcd:LeaseTtl=00:00:05",
    ];

    /// <summary>A new key and certificate written beside the member's file and renamed onto it, as the AppHost renews it.</summary>
    public void ReplaceMemberCertificate(TimeSpan lifetime)
    {
        var issued = _etcdCa.IssueTls("m0", ["localhost"], [IPAddress.Loopback], lifetime);
        var temporary = MemberFile + ".tmp";
        File.WriteAllText(temporary, issued.CertificatePem + "\n" + issued.KeyPem + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, MemberFile, overwrite: true);
    }

    /// <summary>The serial number of the certificate the member presents at a new handshake.</summary>
    public async Task<string> ServedSerialAsync()
    {
        var issued = _etcdCa.IssueTls("probe", [], [], TimeSpan.FromMinutes(5));
        using var client = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.KeyPem);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _clientPort);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificates = [client],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return tls.RemoteCertificate!.GetSerialNumberString();
    }

    /// <summary>Kills the member and starts it again on its data and ports: every client connects anew.</summary>
    public async Task RestartEtcdAsync()
    {
        await Etcd.DisposeAsync();
        await StartEtcdAsync();
    }

    private async Task StartEtcdAsync()
    {
        var psi = new ProcessStartInfo(EtcdCluster.Binary);
        foreach (var a in (string[])
        [
            "--name", "m0", "--data-dir", Path.Combine(_root, "m0"),
            "--listen-client-urls", $"https://127.0.0.1:{_clientPort}", "--advertise-client-urls", $"https://127.0.0.1:{_clientPort}",
            "--listen-peer-urls", $"https://127.0.0.1:{_peerPort}", "--initial-advertise-peer-urls", $"https://127.0.0.1:{_peerPort}",
            "--initial-cluster", $"m0=https://127.0.0.1:{_peerPort}", "--initial-cluster-state", "new",
            "--cert-file", MemberFile, "--key-file", MemberFile, "--client-cert-auth", "--trusted-ca-file", CaFile,
            "--peer-cert-file", MemberFile, "--peer-key-file", MemberFile, "--peer-client-cert-auth", "--peer-trusted-ca-file", CaFile,
            "--logger", "zap", "--log-outputs", "stderr",
        ]) psi.ArgumentList.Add(a);
        Etcd = TestProcess.Start("etcd m0", psi);
        await Etcd.WaitForOutputAsync(l => l.Contains("serving client traffic", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    private async Task StartSentryAsync(string appId)
    {
        // The workload root, then etcd's CA: the handoff the AppHost writes, deleted by the Sentry as it reads it.
        var handoff = Path.Combine(Pki, "sentry-ca.pem");
        var (root, key) = TestIdentity.Authority.ExportForSentry();
        var (etcdRoot, etcdKey) = _etcdCa.ExportForSentry();
        File.WriteAllText(handoff, root + "\n" + key + "\n" + etcdRoot + "\n" + etcdKey + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(handoff, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var healthz = FreePort.Next();
        Sentry = TestProcess.StartDotnet("sentry", RepoPaths.ProjectOutput("Platform/Sentry", "Platform.Sentry"),
            ["--port", SentryPort.ToString(), "--healthz-port", healthz.ToString(), "--listen-address", "127.0.0.1",
             "--workload-cert-ttl", WorkloadTtl, "--ca-credentials-file", handoff],
            new Dictionary<string, string?>
            {
                ["SENTRY_BOOTSTRAP_TOKENS"] = $"{SpiffeId.Scheduler()}={Hash(SentryToken)},{TestIdentity.App(appId)}={Hash(AppToken)}",
                ["SENTRY_ETCD_CLIENT_TOKENS"] = $"{Platform.Security.Renewal.EtcdClientIdentity.For(SpiffeId.Scheduler())}={Hash(SentryToken)}",
            });
        await Sentry.WaitForHealthyAsync(Http, $"http://127.0.0.1:{healthz}/healthz", TimeSpan.FromSeconds(60));
    }

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));

    public async ValueTask DisposeAsync()
    {
        if (Sentry is not null) await Sentry.DisposeAsync();
        if (Etcd is not null) await Etcd.DisposeAsync();
        _etcdCa.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
