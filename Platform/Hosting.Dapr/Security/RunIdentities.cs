using Aspire.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Security;

namespace Platform.Hosting.Dapr.Security;

/// <summary>
/// The AppHost as the certificate authority of its run (Sentry's role): a fresh root for each run, and for each
/// process a certificate naming its SPIFFE id, written with the root as 0600 files in a 0700 directory
/// <c>&lt;data directory&gt;/pki/&lt;run&gt;</c> that is deleted when the AppHost stops (or, after a kill, at the next start). Keys never leave those files
/// and this process, and are never logged or put in an environment variable (the dashboard shows those).
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

    private RunIdentities(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>The run's identities, created with the model's first Dapr resource; null outside run mode or with mTLS off.</summary>
    public static RunIdentities? For(IDistributedApplicationBuilder builder, DaprOptions options, string dataDirectory)
    {
        if (!builder.ExecutionContext.IsRunMode || options.EnableMtls == false) return null;
        if (builder.Services.FirstOrDefault(d => d.ServiceType == typeof(RunIdentities))?.ImplementationInstance is RunIdentities existing)
            return existing;
        var pki = Path.Combine(dataDirectory, "pki");
        SweepDeadRuns(pki);
        var identities = new RunIdentities(Path.Combine(pki, $"{DateTime.UtcNow:yyyyMMddTHHmmss}-{Environment.ProcessId}"));
        builder.Services.AddSingleton(identities);
        builder.Services.AddHostedService(_ => new Cleanup(identities));
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

    /// <summary>An identity held in memory only (the AppHost's own, for its admin calls to the scheduler).</summary>
    public WorkloadIdentity InMemory(SpiffeId id)
    {
        var issued = _authority.Issue(id, RunLifetime);
        return WorkloadIdentity.FromPem(_authority.TrustAnchorsPem, issued.CertificatePem, issued.KeyPem);
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
