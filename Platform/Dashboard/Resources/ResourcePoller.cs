namespace Platform.Dashboard.Resources;

/// <summary>
/// Polls the resource service once a second: keeps the latest resource list for the pages and pulls new console
/// lines of every resource into the bounded <see cref="ConsoleLogStore"/>.
/// </summary>
public sealed partial class ResourcePoller(ResourceServiceClient client, ConsoleLogStore console, TimeProvider time, ILogger<ResourcePoller> logger)
    : BackgroundService
{
    private volatile ResourceSnapshot _latest = new([], null, null);

    public ResourceSnapshot Latest => _latest;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!client.Configured) return;
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PollOnceAsync(stoppingToken);
                failing = false;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                _latest = _latest with { Error = ex.Message };
                if (!failing) LogPollFailed(logger, ex.Message);
                failing = true;
            }
            try { await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    public async Task PollOnceAsync(CancellationToken ct)
    {
        var resources = await client.GetResourcesAsync(ct);
        _latest = new ResourceSnapshot(resources, time.GetUtcNow(), null);
        foreach (var r in resources)
        {
            // Drain: the service returns at most 1000 lines per call.
            for (var round = 0; round < 20; round++)
            {
                var after = console.LastSeq(r.Name);
                var lines = await client.GetLogsAsync(r.Name, after, ct);
                console.Append(r.Name, lines);
                if (lines.Count < 1000) break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resource service poll failed: {Reason}")]
    private static partial void LogPollFailed(ILogger logger, string reason);
}

public sealed record ResourceSnapshot(IReadOnlyList<ResourceInfo> Resources, DateTimeOffset? At, string? Error);
