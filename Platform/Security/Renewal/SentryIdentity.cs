namespace Platform.Security.Renewal;

/// <summary>
/// An identity from the Sentry (<c>--sentry-address</c>, as in daprd): trust anchors from <c>--trust-anchors-file</c> or
/// <c>DAPR_TRUST_ANCHORS</c>, the bootstrap token from <c>DAPR_SENTRY_TOKEN</c> or the file named by
/// <c>DAPR_SENTRY_TOKEN_FILE</c>; the key is made in memory and never written anywhere.
/// </summary>
public static class SentryIdentity
{
    public const string TokenVariable = "DAPR_SENTRY_TOKEN";
    public const string TokenFileVariable = "DAPR_SENTRY_TOKEN_FILE";

    /// <summary>How long a starting process waits for the Sentry to answer before it gives up.</summary>
    public static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(30);

    /// <summary>Requests this process's certificate (blocking: a process has no identity to start with until then).</summary>
    public static WorkloadIdentity Obtain(string sentryAddress, IdentitySources sources, SpiffeId id, SpiffeId sentryId)
    {
        var (client, trust) = Connect(sentryAddress, sources, sentryId);
        return RenewableIdentity.Obtain(client, trust, id, StartPatience);
    }

    /// <summary>
    /// Requests the etcd client certificate of the process whose workload identity is <paramref name="workloadId"/>
    /// (<see cref="EtcdClientIdentity"/>), with the same bootstrap token; it must chain to etcd's CA
    /// (<paramref name="etcdTrust"/>), not to the workload trust anchors, which only vouch for the Sentry itself.
    /// </summary>
    public static WorkloadIdentity ObtainEtcdClient(string sentryAddress, IdentitySources sources, SpiffeId workloadId, SpiffeId sentryId, TrustBundle etcdTrust)
    {
        var (client, _) = Connect(sentryAddress, sources, sentryId);
        return RenewableIdentity.Obtain(client, etcdTrust, EtcdClientIdentity.For(workloadId), StartPatience);
    }

    /// <summary>
    /// A client of the Sentry, which it verifies against the workload trust anchors (returned too). The client lives as
    /// long as the identity renews through it: the process's lifetime.
    /// </summary>
    private static (SentryClient Client, TrustBundle Anchors) Connect(string sentryAddress, IdentitySources sources, SpiffeId sentryId)
    {
        var anchors = sources.TrustAnchorsPem
            ?? throw new IdentityException($"--sentry-address needs the trust anchors: --trust-anchors-file or {IdentitySources.TrustAnchorsVariable}");
        var trust = TrustBundle.FromPem(anchors);
        return (new SentryClient(sentryAddress, trust, sentryId, Token()), trust);
    }

    private static string Token()
    {
        var file = Environment.GetEnvironmentVariable(TokenFileVariable);
        if (!string.IsNullOrEmpty(file))
        {
            try { return File.ReadAllText(file).Trim(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IdentityException($"cannot read {TokenFileVariable} {file}: {e.Message}", e);
            }
        }
        var token = Environment.GetEnvironmentVariable(TokenVariable);
        return string.IsNullOrEmpty(token)
            ? throw new IdentityException($"--sentry-address needs this process's bootstrap token: {TokenVariable} or {TokenFileVariable}")
            : token;
    }
}
