using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Schedules;

/// <summary>
/// Looks at the sidecar's jobs every <see cref="BackupOptions.ScheduleCheckInterval"/>, so that a schedule whose job is
/// gone (deleted from the dashboard or through the sidecar, repeats or TTL done) is recorded as ended within that
/// time, not only when an operator next lists it.
/// </summary>
public sealed partial class ScheduleEndWatcher(ScheduleService schedules, IOptions<BackupOptions> options, TimeProvider time, ILogger<ScheduleEndWatcher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.ScheduleCheckInterval <= TimeSpan.Zero) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.ScheduleCheckInterval, time, stoppingToken);
                await CheckAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One look: every live schedule whose job is missing is recorded as ended. A sidecar that cannot answer now is asked next time.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await schedules.ListAsync(cancellationToken);
        }
        // Whatever went wrong, a background look must not stop the worker (an unhandled exception here would).
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogCheckFailed(logger, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not look for schedules whose job is gone; the next look tries again: {Error}")]
    private static partial void LogCheckFailed(ILogger logger, string error);
}
