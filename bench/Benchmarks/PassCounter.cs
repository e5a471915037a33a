using Microsoft.Extensions.Logging;
using Platform.Scheduler.Engine;

namespace Benchmarks;

/// <summary>
/// Listens to the engine's trace-level "dispatch pass" log event to count its timer passes, and how many of them
/// dispatched nothing: a pass that finds nothing due is a wake-up that cost CPU for no trigger.
/// </summary>
public sealed class PassCounter : ILogger<SchedulerEngine>
{
    private long _passes, _empty;
    public volatile bool Counting;

    public long Passes => Interlocked.Read(ref _passes);
    public long Empty => Interlocked.Read(ref _empty);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Trace;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!Counting || logLevel != LogLevel.Trace || state is not IReadOnlyList<KeyValuePair<string, object?>> fields) return;
        foreach (var (key, value) in fields)
        {
            if (key != "Dispatched") continue;
            Interlocked.Increment(ref _passes);
            if (value is 0) Interlocked.Increment(ref _empty);
            return;
        }
    }
}
