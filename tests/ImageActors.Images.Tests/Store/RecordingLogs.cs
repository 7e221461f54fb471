using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ImageActors.Images.Tests.Store;

/// <summary>One log entry a host's logger factory received.</summary>
internal sealed record LogEntry(LogLevel Level, string Category, string Message, Exception? Exception)
{
    /// <inheritdoc />
    public override string ToString() => $"{Level} {Category}: {Message} {Exception?.Message}";
}

/// <summary>A logger provider that keeps what is logged, for tests that register it on a real host.</summary>
internal sealed class RecordingLogs : ILoggerProvider
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLogs sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Entries.Enqueue(new LogEntry(logLevel, category, formatter(state, exception), exception));
    }
}
