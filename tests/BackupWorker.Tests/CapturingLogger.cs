using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace BackupWorker.Tests;

/// <summary>Keeps every entry's message and the values of its structured state, to look for what must not be logged.</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<string> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" | ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
        Entries.Enqueue($"{logLevel}: {formatter(state, exception)} [{values}] {exception}");
    }
}
