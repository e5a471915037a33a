namespace Platform.Security.Renewal;

/// <summary>
/// The identity under which a scheduler replica asks the Sentry for its etcd client certificate: its own SPIFFE id with
/// <see cref="Suffix"/> on the app id. The Sentry signs such an id only with etcd's CA and only for a token on its etcd
/// list, and signs no other id with that CA, so an app's or a sidecar's token can never obtain a key to the job store.
/// Dapr app ids cannot contain a dot, so no app can be named like this.
/// </summary>
public static class EtcdClientIdentity
{
    public const string Suffix = ".etcd-client";

    /// <summary>The etcd client identity of the process whose workload identity is <paramref name="workload"/>.</summary>
    public static SpiffeId For(SpiffeId workload) => workload with { AppId = workload.AppId + Suffix };

    public static bool IsEtcdClient(SpiffeId id) => id.AppId.EndsWith(Suffix, StringComparison.Ordinal);
}
