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
/// ask the Sentry (etcd members) get a certificate, written with its key as a 0600 file in a 0700 directory
/// <c>&lt;data directory&gt;/pki/&lt;run&gt;</c> that is deleted when the AppHost stops (or, after a kill, at the next
/// start), of the workload lifetime and replaced before 70 % of it (<see cref="EtcdMemberRenewal"/>). The scheduler
/// replicas' etcd client certificates come from the Sentry too, signed by etcd's CA, which is handed over with the root.
/// Keys are never logged or put in an environment variable (the dashboard shows those).
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
    /// Certificate files that nothing renews (a run without a Sentry: processes read them once) last as long as the
    /// run's root, and a new run gets new ones; everything else lives the workload lifetime and is renewed.
    /// </summary>
    private static readonly TimeSpan RunLifetime = CertificateAuthority.RootLifetime;

    private readonly Dictionary<SpiffeId, WorkloadIdentity> _inMemory = [];
    private readonly Dictionary<string, SentryRequester> _requesters = new(StringComparer.Ordinal);
    /// <summary>The requesters (scheduler replicas) whose token may also obtain their etcd client certificate.</summary>
    private readonly HashSet<string> _etcdClients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EtcdMemberFile> _etcdMembers = new(StringComparer.Ordinal);

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
        builder.Services.AddHostedService(sp => new EtcdMemberRenewal(identities, TimeProvider.System,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<EtcdMemberRenewal>>()));
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
    /// The files of a scheduler replica's etcd client certificate from etcd's CA, under <c>&lt;run&gt;/etcd-…</c> (its
    /// <c>ca.crt</c> is that CA), naming no host: only for a run without a Sentry, which would otherwise sign it in
    /// memory (<see cref="AllowEtcdClient"/>), and for the AppHost's own import of an open cluster's jobs. Issued once
    /// for the run, since the scheduler reads the files once.
    /// </summary>
    public IdentityFiles EtcdClientFilesFor(string resource)
    {
        lock (_gate)
        {
            var key = "etcd/" + resource;
            if (!_issued.TryGetValue(key, out var files))
                _issued[key] = files = _etcdAuthority.WriteFiles(EtcdDirectory, resource, _etcdAuthority.IssueTls(resource, [], [], RunLifetime));
            return files;
        }
    }

    /// <summary>
    /// An etcd member's certificate and key from etcd's CA, naming 127.0.0.1 and localhost (which clients and peers
    /// dial), in one 0600 file that is both its <c>--cert-file</c> and <c>--key-file</c>; of the workload lifetime and
    /// replaced in place before 70 % of it (<see cref="EtcdMemberRenewal"/>). The member reads the file at each handshake.
    /// </summary>
    public EtcdMemberFile EtcdMemberFileFor(string resource)
    {
        lock (_gate)
        {
            if (!_etcdMembers.TryGetValue(resource, out var file))
            {
                _etcdMembers[resource] = file = new EtcdMemberFile(resource, Path.Combine(EtcdDirectory, resource + ".pem"),
                    _etcdAuthority.WriteTrustAnchors(EtcdDirectory));
                file.Renew(_etcdAuthority, WorkloadLifetime, TimeProvider.System.GetUtcNow());
            }
            return file;
        }
    }

    /// <summary>The members whose certificates <see cref="EtcdMemberRenewal"/> keeps fresh.</summary>
    internal IReadOnlyList<EtcdMemberFile> EtcdMembers()
    {
        lock (_gate) return [.. _etcdMembers.Values];
    }

    /// <summary>Renews <paramref name="member"/>'s certificate now.</summary>
    internal void RenewEtcdMember(EtcdMemberFile member, DateTimeOffset now)
    {
        lock (_gate) member.Renew(_etcdAuthority, WorkloadLifetime, now);
    }

    /// <summary>etcd's CA certificate (public), for <c>--etcd-client-ca-file</c> and the members' <c>--trusted-ca-file</c>.</summary>
    public string EtcdTrustAnchorsFile() => _etcdAuthority.WriteTrustAnchors(EtcdDirectory);

    /// <summary>A directory of this instance's own: two models built in one process within a second share Directory.</summary>
    private string EtcdDirectory => Path.Combine(Directory, _etcdDirectoryName);

    /// <summary>
    /// Lets the requester <paramref name="resource"/> (a scheduler replica) use its bootstrap token for its etcd client
    /// identity too (<see cref="EtcdClientIdentity"/>), which the Sentry signs with etcd's CA; no other token can.
    /// </summary>
    public void AllowEtcdClient(string resource)
    {
        lock (_gate) _etcdClients.Add(resource);
    }

    /// <summary>What the Sentry is told of the etcd clients: each replica's etcd client identity with the SHA-256 of its token.</summary>
    public string EtcdClientTokenHashes()
    {
        lock (_gate)
            return string.Join(",", _requesters.Where(r => _etcdClients.Contains(r.Key)).Select(r =>
                $"{EtcdClientIdentity.For(r.Value.Id())}={Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(r.Value.Token)))}"));
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
    /// deletes as it reads it at start (the only moment the key is on disk), followed by etcd's CA and key when a
    /// replica gets its etcd client certificate from the Sentry. A new file for each start of the Sentry.
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
        bool etcdClients;
        lock (_gate) etcdClients = _etcdClients.Count > 0;
        if (etcdClients)
        {
            var (etcdRoot, etcdKey) = _etcdAuthority.ExportForSentry();
            writer.Write(etcdRoot + "\n" + etcdKey + "\n");
        }
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
