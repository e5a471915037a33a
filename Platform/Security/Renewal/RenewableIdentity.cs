using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Security.Renewal;

/// <summary>
/// An identity obtained from a signer (key generated in memory, certificate requested at start) and renewed by
/// <see cref="IdentityRenewal"/> through the same signer before 70 % of each certificate's life has passed.
/// </summary>
public static class RenewableIdentity
{
    /// <summary>Renewal is due once this share of the certificate's life (from when it was received) has passed.</summary>
    public const double RenewalPoint = 0.7;

    private static readonly ConditionalWeakTable<WorkloadIdentity, Source> Sources = [];

    internal sealed record Source(ICertificateSigner Signer, DateTimeOffset IssuedAt);

    /// <summary>
    /// Requests the first certificate, retrying while the signer is not reachable yet for up to <paramref name="patience"/>;
    /// throws <see cref="IdentityException"/> with the last error after that.
    /// </summary>
    public static async Task<WorkloadIdentity> ObtainAsync(ICertificateSigner signer, TrustBundle trust, SpiffeId id,
        TimeSpan patience, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        time ??= TimeProvider.System;
        var deadline = time.GetUtcNow() + patience;
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var certificate = await SignAsync(signer, id, cancellationToken);
                var identity = WorkloadIdentity.FromCertificate(trust, certificate);
                if (identity.Id != id) throw new IdentityException($"the signer named {identity.Id}, not {id}");
                Sources.AddOrUpdate(identity, new Source(signer, time.GetUtcNow()));
                return identity;
            }
            catch (Exception e) when (e is not OperationCanceledException && !IsRefusal(e))
            {
                if (time.GetUtcNow() + delay > deadline)
                    throw new IdentityException($"cannot obtain a certificate for {id}: {e.Message}", e);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }

    public static WorkloadIdentity Obtain(ICertificateSigner signer, TrustBundle trust, SpiffeId id, TimeSpan patience)
        => ObtainAsync(signer, trust, id, patience).GetAwaiter().GetResult();

    /// <summary>A fresh in-memory key and a certificate for it.</summary>
    internal static async Task<X509Certificate2> SignAsync(ICertificateSigner signer, SpiffeId id, CancellationToken cancellationToken)
    {
        var key = new KeyAndRequest(id);
        using var signed = await signer.SignAsync(id, key.CsrPem, cancellationToken);
        return key.Join(signed);
    }

    internal static Source? SourceOf(WorkloadIdentity identity) => Sources.TryGetValue(identity, out var source) ? source : null;

    /// <summary>When the certificate received at <paramref name="issuedAt"/> and good until <paramref name="notAfter"/> is renewed.</summary>
    public static DateTimeOffset RenewalTime(DateTimeOffset issuedAt, DateTimeOffset notAfter)
        => issuedAt + (notAfter - issuedAt) * RenewalPoint;

    /// <summary>A refusal (bad token, wrong id) will not pass by waiting: it ends the start at once.</summary>
    private static bool IsRefusal(Exception e) =>
        e is Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.PermissionDenied or Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.Unauthenticated };
}
