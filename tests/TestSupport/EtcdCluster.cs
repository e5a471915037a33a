using System.Diagnostics;
using System.Net;
using Platform.Security;
using Xunit;

namespace TestSupport;

/// <summary>Skips a test, saying why, when Debian's etcd server is not installed.</summary>
public sealed class EtcdFactAttribute : FactAttribute
{
    public EtcdFactAttribute()
    {
        if (EtcdCluster.MissingReason is { } reason) Skip = reason;
    }
}

/// <summary>A theory's data row that is skipped, saying why, when Debian's etcd server is not installed.</summary>
public sealed class EtcdInlineDataAttribute(params object[] data) : Xunit.Sdk.DataAttribute
{
    public override string? Skip { get; set; } = EtcdCluster.MissingReason;

    public override IEnumerable<object[]> GetData(System.Reflection.MethodInfo testMethod) => [data];
}

/// <summary>
/// A throwaway etcd cluster (Debian's <c>etcd</c>) of three members on free loopback ports, each with its own temp data
/// directory. Members are <see cref="TestProcess"/>es, so they die with the test host; on dispose all are killed and
/// the directories deleted. One member can be killed and started again, to test that the cluster's clients carry on.
/// </summary>
/// <remarks>
/// By default locked as the AppHost locks its cluster: clients and peers over TLS only, with client-certificate
/// authentication against the cluster's own CA (<see cref="CaFile"/>), which issued the members' certificates and one
/// client certificate (<see cref="ClientCertFile"/>); <see cref="ClientArgs"/> are the scheduler's flags for it.
/// <c>tls: false</c> starts it open, as it was before, for the benchmark's comparison.
/// </remarks>
public sealed class EtcdCluster : IAsyncDisposable
{
    public const string Binary = "/usr/bin/etcd";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _root;
    private readonly Member[] _members;

    private EtcdCluster(string root, int size, bool tls)
    {
        _root = root;
        Tls = tls;
        var token = "test-" + Guid.NewGuid().ToString("N")[..12];
        _members = [.. Enumerable.Range(0, size).Select(i => new Member($"m{i}", Path.Combine(root, $"m{i}"), FreePort.Next(), FreePort.Next()))];
        var scheme = tls ? "https" : "http";
        var initial = string.Join(",", _members.Select(m => $"{m.Name}={scheme}://127.0.0.1:{m.PeerPort}"));
        if (tls)
        {
            using var authority = CertificateAuthority.Create("etcd-tests");
            var directory = Path.Combine(root, "pki");
            var client = authority.WriteFiles(directory, "client", authority.IssueTls("dapr-scheduler", [], []));
            (CaFile, ClientCertFile, ClientKeyFile) = (client.TrustAnchorsFile, client.CertChainFile, client.CertKeyFile);
            foreach (var m in _members)
            {
                var files = authority.WriteFiles(directory, m.Name, authority.IssueTls(m.Name, ["localhost"], [IPAddress.Loopback]));
                m.TlsArgs =
                [
                    "--cert-file", files.CertChainFile, "--key-file", files.CertKeyFile, "--client-cert-auth", "--trusted-ca-file", CaFile,
                    "--peer-cert-file", files.CertChainFile, "--peer-key-file", files.CertKeyFile, "--peer-client-cert-auth", "--peer-trusted-ca-file", CaFile,
                ];
            }
        }
        foreach (var m in _members) m.Args = [.. Args(m, initial, token, scheme), .. m.TlsArgs];
    }

    /// <summary>True when clients and peers must speak TLS with a certificate from the cluster's CA.</summary>
    public bool Tls { get; }
    /// <summary>The cluster's CA (PEM), which the members' and the client's certificates chain to; null without TLS.</summary>
    public string? CaFile { get; }
    /// <summary>A client certificate the members accept, and its key; null without TLS.</summary>
    public string? ClientCertFile { get; }
    public string? ClientKeyFile { get; }

    /// <summary>The scheduler's flags for this cluster: <c>--etcd-embed=false</c>, the endpoints and, with TLS, the CA and client certificate.</summary>
    public string[] ClientArgs =>
    [
        "--etcd-embed=false", "--etcd-client-endpoints=" + ClientEndpoints,
        .. Tls ? new[] { "--etcd-client-ca-file=" + CaFile, "--etcd-client-cert-file=" + ClientCertFile, "--etcd-client-key-file=" + ClientKeyFile } : [],
    ];

    /// <summary>The client URL of member <paramref name="index"/>, with its scheme.</summary>
    public string ClientUrl(int index = 0) => $"{(Tls ? "https" : "http")}://127.0.0.1:{_members[index].ClientPort}";

    public static string? MissingReason => File.Exists(Binary) ? null
        : $"etcd is not installed (missing {Binary}); install it with 'apt-get install etcd-server' (test.sh does this when run as root).";

    /// <summary>The members' client endpoints as <c>--etcd-client-endpoints</c> takes them: host:port,host:port,…</summary>
    public string ClientEndpoints => string.Join(",", _members.Select(m => $"127.0.0.1:{m.ClientPort}"));

    public int Size => _members.Length;

    /// <summary>Starts every member and waits (bounded) until each serves clients, i.e. the cluster has a leader.</summary>
    public static async Task<EtcdCluster> StartAsync(int size = 3, bool tls = true)
    {
        if (MissingReason is { } missing) throw new InvalidOperationException(missing);
        for (var attempt = 1; ; attempt++)
        {
            var cluster = new EtcdCluster(Directory.CreateTempSubdirectory("etcd-test-").FullName, size, tls);
            try
            {
                foreach (var m in cluster._members) m.Launch();
                await Task.WhenAll(cluster._members.Select(m => m.WaitReadyAsync(StartTimeout)));
                return cluster;
            }
            catch (Exception) when (attempt < 5 && cluster._members.Any(m => m.FailedToBind))
            {
                // Something took one of the free ports between asking and binding: a new cluster on new ones, as
                // every member names all the others' peer ports.
                await cluster.DisposeAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    private static string[] Args(Member m, string initialCluster, string token, string scheme) =>
    [
        "--name", m.Name, "--data-dir", m.DataDir,
        "--listen-client-urls", $"{scheme}://127.0.0.1:{m.ClientPort}", "--advertise-client-urls", $"{scheme}://127.0.0.1:{m.ClientPort}",
        "--listen-peer-urls", $"{scheme}://127.0.0.1:{m.PeerPort}", "--initial-advertise-peer-urls", $"{scheme}://127.0.0.1:{m.PeerPort}",
        "--initial-cluster", initialCluster, "--initial-cluster-state", "new", "--initial-cluster-token", token,
        // Generous against a loaded test machine: a missed heartbeat must not start an election.
        "--heartbeat-interval", "200", "--election-timeout", "3000",
        "--logger", "zap", "--log-outputs", "stderr",
    ];

    /// <summary>Ends member <paramref name="index"/> with SIGKILL; its data directory stays.</summary>
    public Task KillMemberAsync(int index) => _members[index].KillAsync();

    /// <summary>Starts a killed member again on its ports and data directory and waits until it serves clients.</summary>
    public async Task RestartMemberAsync(int index)
    {
        var m = _members[index];
        await m.KillAsync();
        m.Launch();
        await m.WaitReadyAsync(StartTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var m in _members) await m.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private sealed class Member(string name, string dataDir, int clientPort, int peerPort) : IAsyncDisposable
    {
        public string Name => name;
        public string DataDir => dataDir;
        public int ClientPort => clientPort;
        public int PeerPort => peerPort;
        public string[] Args { get; set; } = [];
        public string[] TlsArgs { get; set; } = [];
        private TestProcess? _process;

        public void Launch()
        {
            var psi = new ProcessStartInfo(Binary);
            foreach (var a in Args) psi.ArgumentList.Add(a);
            _process = TestProcess.Start($"etcd {name}", psi);
        }

        public Task WaitReadyAsync(TimeSpan timeout) =>
            _process!.WaitForOutputAsync(l => l.Contains("serving client traffic", StringComparison.Ordinal), timeout);

        public bool FailedToBind => _process?.Output.Any(l => l.Contains("address already in use", StringComparison.Ordinal)) == true;

        public async Task KillAsync()
        {
            if (_process is null) return;
            await _process.DisposeAsync();
            _process = null;
        }

        public ValueTask DisposeAsync() => new(KillAsync());
    }
}
