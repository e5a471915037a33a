using Grpc.Core;
using Platform.SchedulerProtocol;

namespace Platform.Sidecar.Scheduler;

// The folder's namespace would hide the protocol's Scheduler service class.
using Scheduler = Platform.SchedulerProtocol.Scheduler;

/// <summary>
/// daprd's scheduler host discovery: opens WatchHosts on a configured scheduler address and makes every answer (the
/// broadcast addresses of all live replicas) the sidecar's scheduler set. A broken WatchHosts stream keeps the current
/// set and its streams; WatchHosts is re-opened on the next configured address (or, when none answers, a replica of
/// the current set) after ~0.5 s ± jitter. A
/// scheduler without WatchHosts (UNIMPLEMENTED, Dapr 1.14) ⇒ the configured addresses are the set, for good.
/// </summary>
public sealed partial class SchedulerDiscovery(SchedulerConnection scheduler, TimeProvider time, ILogger<SchedulerDiscovery> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!scheduler.Enabled) return;
        var configured = scheduler.ConfiguredAddresses;
        var unanswered = 0;
        for (var attempt = 0; !stoppingToken.IsCancellationRequested; attempt++)
        {
            // The configured addresses in turn (in production a name that resolves to the live replicas); once a whole
            // round of them went unanswered, the replicas learnt so far as well, so discovery outlives them.
            var candidates = unanswered < configured.Count ? configured
                : [.. configured.Concat(scheduler.Hosts.Select(h => h.Address)).Distinct(StringComparer.Ordinal)];
            var address = candidates[attempt % candidates.Count];
            var answered = false;
            try
            {
                if (await WatchAsync(address, () => answered = true, stoppingToken) == Outcome.Unsupported) return;
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception ex)
            {
                LogWatchFailed(logger, address, ex.Message);
            }
            unanswered = answered ? 0 : unanswered + 1;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250 + Random.Shared.Next(500)), time, stoppingToken);
            }
            catch (OperationCanceledException) { return; }
        }
    }

    private enum Outcome { Ended, Unsupported }

    private async Task<Outcome> WatchAsync(string address, Action answered, CancellationToken ct)
    {
        // A channel of its own: the replica it is asked of may itself leave the set it announces.
        using var channel = scheduler.CreateChannel(address);
        using var call = new Scheduler.SchedulerClient(channel).WatchHosts(new WatchHostsRequest(), cancellationToken: ct);
        try
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(ct))
            {
                answered();
                var addresses = response.Hosts.Select(h => h.Address).Where(a => !string.IsNullOrWhiteSpace(a)).ToArray();
                // A replica that names no replica, not even itself, tells nothing usable: keep what is known.
                if (addresses.Length == 0) LogEmptyAnswer(logger, address);
                else scheduler.Apply(addresses, address);
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            LogUnsupported(logger, address);
            scheduler.Apply(scheduler.ConfiguredAddresses, "configuration");
            return Outcome.Unsupported;
        }
        LogWatchEnded(logger, address);
        return Outcome.Ended;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching scheduler hosts on {Address} failed: {Error}; retrying")]
    private static partial void LogWatchFailed(ILogger logger, string address, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduler hosts stream from {Address} ended; re-opening")]
    private static partial void LogWatchEnded(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Scheduler {Address} does not implement WatchHosts; using the configured scheduler hosts")]
    private static partial void LogUnsupported(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduler {Address} announced no scheduler hosts; keeping the current set")]
    private static partial void LogEmptyAnswer(ILogger logger, string address);
}
