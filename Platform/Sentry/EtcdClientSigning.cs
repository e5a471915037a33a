using Platform.Security;
using Platform.Security.Renewal;

namespace Platform.Sentry;

/// <summary>
/// What the Sentry needs to sign etcd client certificates: etcd's CA (apart from the workload root, so no workload
/// certificate reaches etcd) and who may ask (<see cref="EtcdClientIdentity"/> ids only).
/// </summary>
public sealed record EtcdClientSigning(CertificateAuthority Authority, BootstrapTokens Tokens)
{
    /// <summary>
    /// The etcd signing from the handoff's etcd CA and the etcd token list; null when neither is given. Throws
    /// <see cref="FormatException"/> when only one is, or when a list names an id of the other kind: a workload token
    /// for an etcd client id (or the reverse) would blur the line the two CAs draw.
    /// </summary>
    public static EtcdClientSigning? From(CertificateAuthority? authority, string? etcdTokens, BootstrapTokens workloadTokens)
    {
        if (workloadTokens.Ids.FirstOrDefault(EtcdClientIdentity.IsEtcdClient) is { } misplaced)
            throw new FormatException($"{SentryOptions.BootstrapTokensVariable} names the etcd client id {misplaced}: list it in {SentryOptions.EtcdClientTokensVariable}");
        var tokens = BootstrapTokens.Parse(etcdTokens);
        if (tokens.Ids.FirstOrDefault(id => !EtcdClientIdentity.IsEtcdClient(id)) is { } other)
            throw new FormatException($"{SentryOptions.EtcdClientTokensVariable} names {other}, which is no etcd client id (…{EtcdClientIdentity.Suffix})");
        if (authority is null)
            return tokens.Count == 0 ? null
                : throw new FormatException($"{SentryOptions.EtcdClientTokensVariable} is set, but --ca-credentials-file holds no etcd CA");
        return new EtcdClientSigning(authority, tokens);
    }
}
