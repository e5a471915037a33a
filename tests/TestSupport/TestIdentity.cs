using Platform.Security;

namespace TestSupport;

/// <summary>
/// The tests' certificate authority (the AppHost's role in a real run): one per test process, issuing each scheduler,
/// sidecar and test client a real identity, so integration tests run with mTLS on. Files are written 0600 under one
/// temporary directory, removed when the test process exits.
/// </summary>
public static class TestIdentity
{
    private const string Prefix = "test-identities-";
    private static readonly string FilesDirectory = Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId}");
    private static readonly Lazy<CertificateAuthority> Ca = new(() =>
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Delete(FilesDirectory);
        // A test host that was killed never saw ProcessExit: remove what earlier, dead test processes left.
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
            if (int.TryParse(Path.GetFileName(dir)[Prefix.Length..], out var pid) && !ProcessProbe.IsAlive(pid)) Delete(dir);
        return CertificateAuthority.Create("tests");
    });

    private static void Delete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static int _counter;

    public static CertificateAuthority Authority => Ca.Value;

    /// <summary>The identity of an app's sidecar, <c>spiffe://public/ns/&lt;namespace&gt;/&lt;app id&gt;</c>.</summary>
    public static SpiffeId App(string appId, string @namespace = "default") => new(SpiffeId.DefaultTrustDomain, @namespace, appId);

    /// <summary>A new certificate for <paramref name="id"/> with the anchors, as files for the --…-file flags.</summary>
    public static IdentityFiles Files(SpiffeId id)
    {
        var name = $"{Interlocked.Increment(ref _counter)}-{id.AppId}";
        return Authority.WriteFiles(FilesDirectory, name, Authority.Issue(id));
    }

    /// <summary>A new certificate for <paramref name="id"/>, in memory.</summary>
    public static WorkloadIdentity Identity(SpiffeId id)
    {
        var issued = Authority.Issue(id);
        return WorkloadIdentity.FromPem(Authority.TrustAnchorsPem, issued.CertificatePem, issued.KeyPem);
    }

    /// <summary>An HTTP handler (e.g. for a GrpcChannel) that is <paramref name="client"/> and talks only to the scheduler.</summary>
    public static SocketsHttpHandler SchedulerClientHandler(SpiffeId client) =>
        Identity(client).CreateHandler(id => id == SpiffeId.Scheduler());
}
