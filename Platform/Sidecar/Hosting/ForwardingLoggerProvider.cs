namespace Platform.Sidecar.Hosting;

/// <summary>Hands a nested host's loggers to the sidecar's logger factory, so its lines go where the sidecar's go.</summary>
internal sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => target.CreateLogger(categoryName);
    public void Dispose() { }
}
