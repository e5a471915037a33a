using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Security;
using Platform.Security.Renewal;

namespace Platform.Hosting.Dapr.Security;

/// <summary>
/// The run's certificate authority: a fresh root for each run, held in this process's memory. With the Sentry (the
/// default), the root's key is handed once to the <c>sentry</c> process, which signs every sidecar's and scheduler's
/// in-memory key for a short lifetime on request with the process's bootstrap token, and the AppHost's own admin
/// identity is signed here the same way; nothing but the public trust anchors is left on disk. Processes that cannot
/// ask the Sentry (etcd members) get a certificate naming their SPIFFE id, written with the root as 0600 files in a
/// 0700 directory <c>&lt;data directory&gt;/pki/&lt;run&gt;</c> that is deleted when the AppHost stops (or, after a kill,
/// at the next start). Keys are never logged or put in an environment variable (the dashboard shows those).
/// </summary>
internal sealed class RunIdentities : IDisposable
{
    private readonly CertificateAuthority _authority = CertificateAuthority.Create("aspire-apphost");
    private readonly Dictionary<string, IdentityFiles> _issued = [];
    /// <summary>
    /// etcd's own CA for the run, apart from the workload root: the members trust only it, so no app's or sidecar's
    /// certificate (which the workload root signs) is let into the scheduler's store.
    /// </summary>
    private readonly CertificateAuthority _etcdAuthority = CertificateAuthority.Create("aspire-apphost etcd");
    private readonly string _etcdDirectoryName = "etcd-" + Guid.NewGuid().ToString("N")[..8];
    private readonly Lock _gate = new();

    /// <summary>
    /// Sentry issues 24 h certificates and daprd renews them before they lapse; nothing renews ours, so a run's
    /// certificates last as long as its root, and a new run gets new ones.
    /// </summary>
    private static readonly TimeSpan RunLifetime = CertificateAuthority.RootLifetime;

    private readonly Dictionary<SpiffeId, WorkloadIdentity> _inMemory = [];
    private readonly Dictionary<string, SentryRequester> _requesters = new(StringComparer.Ordinal);

    private RunIdentities(string directory, TimeSpan workloadLifetime)
    {
        Directory = directory;
        WorkloadLifetime = workloadLifetime;
    }

    public string Directory { get; }

    /// <summary>How long a certificate the Sentry (or this AppHost for itself) signs lives: Sentry's 24 h unless configured.</summary>
    public TimeSpan WorkloadLifetime { get; }

    /// <summary>The run's Sentry resource, once a process needs it; null while none does or the run has no Sentry.</summary>
    public IResourceBuilder<DaprSentryResource>? Sentry { get; internal set; }

    /// <summary>A process that asks the Sentry for its certificate: its identity (known once its options are final) and bootstrap token.</summary>
    internal sealed record SentryRequester(Func<SpiffeId> Id, string Token);

    /// <summary>The run's identities, created with the model's first Dapr resource; null outside run mode or with mTLS off.</summary>
    public static RunIdentities? For(IDistributedApplicationBuilder builder, DaprOptions options, string dataDirectory)
    {
        if (!builder.ExecutionContext.IsRunMode || options.EnableMtls == false) return null;
        if (builder.Services.FirstOrDefault(d => d.ServiceType == typeof(RunIdentities))?.ImplementationInstance is RunIdentities existing)
            return existing;
        var pki = Path.Combine(dataDirectory, "pki");
        SweepDeadRuns(pki);
        var identities = new RunIdentities(Path.Combine(pki, $"{DateTime.UtcNow:yyyyMMddTHHmmss}-{Environment.ProcessId}"),
            options.WorkloadCertificateLifetime ?? CertificateAuthority.WorkloadLifetime);
        builder.Services.AddSingleton(identities);
        builder.Services.AddHostedService(_ => new Cleanup(identities));
        // The AppHost's own identity renews like every other.
        builder.Services.AddHostedService(sp => new IdentityRenewal(identities.InMemory(SpiffeId.AppHost()), TimeProvider.System,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<IdentityRenewal>>()));
        return identities;
    }

    /// <summary>The files of <paramref name="resource"/>'s identity, issued once for the run (a restarted process reuses them).</summary>
    public IdentityFiles FilesFor(string resource, SpiffeId id)
    {
        lock (_gate)
        {
            if (!_issued.TryGetValue(resource, out var files))
                _issued[resource] = files = _authority.WriteFiles(Directory, resource, _authority.Issue(id, RunLifetime));
            return files;
        }
    }

    /// <summary>
    /// The files of an etcd party's certificate from etcd's CA, under <c>&lt;run&gt;/etcd</c> (its <c>ca.crt</c> is that CA):
    /// a member's names 127.0.0.1 and localhost, which clients and peers dial; a client's (a scheduler replica's) names
    /// no host. Issued once for the run.
    /// </summary>
    public IdentityFiles EtcdFilesFor(string resource, bool member)
    {
        lock (_gate)
        {
            var key = "etcd/" + resource;
            if (!_issued.TryGetValue(key, out var files))
            {
                var issued = member
                    ? _etcdAuthority.IssueTls(resource, ["localhost"], [System.Net.IPAddress.Loopback], RunLifetime)
                    : _etcdAuthority.IssueTls(resource, [], [], RunLifetime);
                // A directory of this instance's own: two models built in one process within a second share Directory.
                _issued[key] = files = _etcdAuthority.WriteFiles(Path.Combine(Directory, _etcdDirectoryName), resource, issued);
            }
            return files;
        }
    }

    /// <summary>
    /// An identity held in memory only (the AppHost's own, for its admin calls to the scheduler): a key made here, a
    /// certificate of the workload lifetime signed here, renewed before 70 % of its life. One per id for the run.
    /// </summary>
    public WorkloadIdentity InMemory(SpiffeId id)
    {
        lock (_gate)
        {
            if (!_inMemory.TryGetValue(id, out var identity))
                _inMemory[id] = identity = RenewableIdentity.Obtain(new LocalSigner(_authority, WorkloadLifetime),
                    TrustBundle.FromPem(_authority.TrustAnchorsPem), id, TimeSpan.FromSeconds(5));
            return identity;
        }
    }

    /// <summary>The trust anchors (public) as a file every process reads with <c>--trust-anchors-file</c>.</summary>
    public string TrustAnchorsFile() => _authority.WriteTrustAnchors(Directory);

    /// <summary>A new bootstrap token for <paramref name="resource"/>, whose identity <paramref name="id"/> gives once its options are final.</summary>
    public string NewRequester(string resource, Func<SpiffeId> id)
    {
        lock (_gate)
        {
            var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            _requesters[resource] = new SentryRequester(id, token);
            return token;
        }
    }

    /// <summary>What the Sentry is told of the requesters: each identity with the SHA-256 of its token (never the token).</summary>
    public string BootstrapTokenHashes()
    {
        lock (_gate)
            return string.Join(",", _requesters.Values.Select(r =>
                $"{r.Id()}={Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(r.Token)))}"));
    }

    /// <summary>
    /// Hands the CA to the Sentry: its root and key in a new 0600 file of the run's 0700 directory, which the Sentry
    /// deletes as it reads it at start (the only moment the key is on disk). A new file for each start of the Sentry.
    /// </summary>
    public string WriteSentryHandoff()
    {
        CertificateAuthority.CreatePrivateDirectory(Directory);
        var path = Path.Combine(Directory, "sentry-ca.pem");
        var (root, key) = _authority.ExportForSentry();
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var writer = new StreamWriter(path, System.Text.Encoding.ASCII, options);
        writer.Write(root + "\n" + key + "\n");
        return path;
    }

    public void Dispose()
    {
        _authority.Dispose();
        _etcdAuthority.Dispose();
    }

    /// <summary>An AppHost that was killed could not delete its run's keys: remove those of runs whose process is gone.</summary>
    private static void SweepDeadRuns(string pki)
    {
        if (!System.IO.Directory.Exists(pki)) return;
        foreach (var run in System.IO.Directory.EnumerateDirectories(pki))
        {
            var name = Path.GetFileName(run);
            if (!int.TryParse(name[(name.LastIndexOf('-') + 1)..], out var pid) || IsAlive(pid)) continue;
            try { System.IO.Directory.Delete(run, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private sealed class Cleanup(RunIdentities identities) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            try { System.IO.Directory.Delete(identities.Directory, recursive: true); }
            catch (DirectoryNotFoundException) { }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            return Task.CompletedTask;
        }
    }
}
