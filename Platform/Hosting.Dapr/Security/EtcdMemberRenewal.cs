using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.Hosting.Dapr.Security;

/// <summary>
/// Replaces each etcd member's certificate file before 70 % of its life (<see cref="EtcdMemberFile"/>), as the Sentry's
/// clients renew theirs: the member picks the new one up at its next handshake, while connections already open (the
/// replicas' and the other members') keep theirs. A failed write is retried, sooner as expiry nears.
/// </summary>
internal sealed partial class EtcdMemberRenewal(RunIdentities identities, TimeProvider time, ILogger<EtcdMemberRenewal> logger) : BackgroundService
{
    /// <summary>How often the member list is looked at while no member is due: members appear as DCP starts them.</summary>
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var next = now + Idle;
            foreach (var member in identities.EtcdMembers())
            {
                if (member.RenewAt <= now)
                {
                    try
                    {
                        identities.RenewEtcdMember(member, now);
                        LogRenewed(logger, member.Name, member.RenewAt);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        LogRenewalFailed(logger, member.Name, e.Message);
                        continue;
                    }
                }
                if (member.RenewAt < next) next = member.RenewAt;
            }
            try
            {
                await Task.Delay(Max(next - time.GetUtcNow(), TimeSpan.FromMilliseconds(50)), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Information, Message = "Renewed the certificate of etcd member {Member}; next renewal at {RenewAt:O}")]
    private static partial void LogRenewed(ILogger logger, string member, DateTimeOffset renewAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the certificate of etcd member {Member} failed: {Error}")]
    private static partial void LogRenewalFailed(ILogger logger, string member, string error);
}
