using Microsoft.Extensions.Logging;

namespace AppHost.Tests;

/// <summary>A logger provider that would take every message: what a factory lets through is then its filters' doing alone.</summary>
public sealed class EveryLevelProvider : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new EveryLevelLogger();

    public void Dispose() { }

    private sealed class EveryLevelLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) { }
    }
}
