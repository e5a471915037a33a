using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.Security.Renewal;

/// <summary>
/// Renews a <see cref="RenewableIdentity"/> before 70 % of its certificate's life, as daprd renews its Sentry
/// certificate: a new in-memory key each time, swapped into the identity for new handshakes while open streams keep
/// the connection they have. A failed renewal is retried, sooner as expiry nears; once the certificate has expired the
/// process's health says so (<see cref="IdentityHealth"/>).
/// </summary>
public sealed partial class IdentityRenewal(WorkloadIdentity identity, TimeProvider time, ILogger<IdentityRenewal> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var source = RenewableIdentity.SourceOf(identity) ?? throw new InvalidOperationException("the identity was not obtained from a signer");
        var issuedAt = source.IssuedAt;
        while (!stoppingToken.IsCancellationRequested)
        {
            var notAfter = new DateTimeOffset(identity.Certificate.NotAfter.ToUniversalTime());
            var wait = RenewableIdentity.RenewalTime(issuedAt, notAfter) - time.GetUtcNow();
            try
            {
                if (wait > TimeSpan.Zero) await Task.Delay(wait, time, stoppingToken);
                var renewed = await RenewableIdentity.SignAsync(source.Signer, identity.Id, stoppingToken);
                identity.Replace(renewed);
                issuedAt = time.GetUtcNow();
                identity.RenewalError = null;
                LogRenewed(logger, identity.Id.ToString(), renewed.NotAfter.ToUniversalTime());
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                identity.RenewalError = e.Message;
                var left = notAfter - time.GetUtcNow();
                LogRenewalFailed(logger, identity.Id.ToString(), left, e.Message);
                try { await Task.Delay(RetryDelay(left), time, stoppingToken); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>A tenth of what is left, between a quarter second and half a minute (5 s once expired).</summary>
    internal static TimeSpan RetryDelay(TimeSpan left)
    {
        if (left <= TimeSpan.Zero) return TimeSpan.FromSeconds(5);
        var delay = left / 10;
        return delay < TimeSpan.FromMilliseconds(250) ? TimeSpan.FromMilliseconds(250)
            : delay > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : delay;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Renewed the certificate of {Id}, valid until {NotAfter:O}")]
    private static partial void LogRenewed(ILogger logger, string id, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the certificate of {Id} failed ({Left} before it expires): {Error}")]
    private static partial void LogRenewalFailed(ILogger logger, string id, TimeSpan left, string error);
}
