namespace Platform.Sidecar.AppChannel;

internal sealed partial class NoAppChannel(ILogger logger) : IAppChannel
{
    public Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct)
    {
        LogNoChannel(logger, trigger.Name);
        return Task.FromResult(false);
    }

    public Task<bool> ProbeHealthAsync(string path, CancellationToken ct) => Task.FromResult(true);

    [LoggerMessage(Level = LogLevel.Warning, Message = "received job, but app channel not initialized (job {JobName})")]
    private static partial void LogNoChannel(ILogger logger, string jobName);
}
