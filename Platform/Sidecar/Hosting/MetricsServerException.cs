namespace Platform.Sidecar.Hosting;

/// <summary>The metrics port given with --metrics-port could not be bound.</summary>
public sealed class MetricsServerException(string message, Exception inner) : Exception(message, inner);
