using Platform.Scheduler.Hosting;
using Platform.Scheduler.Storage.Etcd;
using Platform.Security;
using Platform.Security.Renewal;

namespace Platform.Scheduler.Security;

/// <summary>
/// <c>--etcd-client-cert-from-sentry</c>: the certificate this replica presents to etcd comes from the Sentry like its
/// workload identity, for its etcd client identity (<see cref="EtcdClientIdentity"/>) and with the same bootstrap token,
/// signed by etcd's CA (<c>--etcd-client-ca-file</c>); its key exists only in this process's memory. It is renewed
/// before 70 % of its life (<see cref="IdentityRenewal"/>) and the etcd connections present the renewed one from their
/// next handshake on; an expired one makes /healthz say so, through the store's health.
/// </summary>
internal static class EtcdClientCertificate
{
    /// <summary>The identity when the flag asks for one, else null. Throws <see cref="InvalidOperationException"/> naming what is missing.</summary>
    public static WorkloadIdentity? Obtain(SchedulerOptions scheduler, EtcdStoreOptions etcd)
    {
        if (!etcd.UseEtcd || !etcd.ClientCertFromSentry) return null;
        if (!scheduler.TlsEnabled || string.IsNullOrEmpty(scheduler.SentryAddress))
            throw new InvalidOperationException("--etcd-client-cert-from-sentry needs --sentry-address (and mTLS on).");
        if (string.IsNullOrEmpty(etcd.ClientCaFile))
            throw new InvalidOperationException("--etcd-client-cert-from-sentry needs --etcd-client-ca-file: etcd's CA, which the certificate chains to.");
        try
        {
            var etcdTrust = TrustBundle.FromPem(File.ReadAllText(etcd.ClientCaFile));
            return SentryIdentity.ObtainEtcdClient(scheduler.SentryAddress, new IdentitySources(scheduler.TrustAnchorsFile, null, null),
                SpiffeId.Scheduler(), SentryClient.SentryId(SpiffeId.DefaultControlPlaneTrustDomain, SpiffeId.DefaultControlPlaneNamespace), etcdTrust);
        }
        catch (Exception e) when (e is IdentityException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"--etcd-client-cert-from-sentry: {e.Message}", e);
        }
    }
}
