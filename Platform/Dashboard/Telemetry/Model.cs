namespace Platform.Dashboard.Telemetry;

/// <summary>A process that sent telemetry, identified as Aspire does by service.name + service.instance.id.</summary>
public sealed record TelemetryResource(string ServiceName, string InstanceId, IReadOnlyList<KeyValuePair<string, string>> Attributes)
{
    public string Key => InstanceId.Length == 0 ? ServiceName : ServiceName + "/" + InstanceId;
}

public enum LogSeverity { Trace = 1, Debug = 2, Information = 3, Warning = 4, Error = 5, Critical = 6 }

public sealed record LogEntry(
    long Id,
    TelemetryResource Resource,
    DateTime Timestamp,
    LogSeverity Severity,
    string Message,
    string Category,
    string TraceId,
    string SpanId,
    IReadOnlyList<KeyValuePair<string, string>> Attributes);

public sealed record SpanEvent(DateTime Time, string Name, IReadOnlyList<KeyValuePair<string, string>> Attributes);

public enum SpanStatus { Unset, Ok, Error }

public sealed record SpanEntry(
    TelemetryResource Resource,
    string Scope,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    string Name,
    string Kind,
    DateTime Start,
    DateTime End,
    SpanStatus Status,
    string StatusMessage,
    IReadOnlyList<KeyValuePair<string, string>> Attributes,
    IReadOnlyList<SpanEvent> Events)
{
    public TimeSpan Duration => End >= Start ? End - Start : TimeSpan.Zero;
}

/// <summary>One row of the traces list.</summary>
public sealed record TraceSummary(
    string TraceId,
    string Name,
    DateTime Start,
    TimeSpan Duration,
    IReadOnlyList<KeyValuePair<string, int>> SpansPerResource,
    bool HasError,
    int SpanCount);

public static class LogSeverities
{
    /// <summary>Maps OTLP SeverityNumber (1-24) to the six levels; 0 (unspecified) reads as Information.</summary>
    public static LogSeverity FromOtlp(int severityNumber) => severityNumber switch
    {
        <= 0 => LogSeverity.Information,
        <= 4 => LogSeverity.Trace,
        <= 8 => LogSeverity.Debug,
        <= 12 => LogSeverity.Information,
        <= 16 => LogSeverity.Warning,
        <= 20 => LogSeverity.Error,
        _ => LogSeverity.Critical,
    };

    public static bool TryParse(string? text, out LogSeverity severity)
    {
        severity = LogSeverity.Trace;
        if (string.IsNullOrWhiteSpace(text)) return false;
        return Enum.TryParse(text, ignoreCase: true, out severity) && Enum.IsDefined(severity);
    }
}
