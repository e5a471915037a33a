using System.Diagnostics;
using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>
/// The frame a restore and a drill both run in: their Running record written first (a stop from here on leaves it to
/// find), a span tagged with what the work is about, and the restore time limit on the injected clock, as a backup
/// run's is, linked to the caller's token. Disposing ends the span and the limit.
/// </summary>
internal sealed class RestoreWorkScope : IDisposable
{
    private readonly CancellationTokenSource _timeLimit;
    private readonly CancellationTokenSource _linked;

    private RestoreWorkScope(Activity? activity, CancellationTokenSource timeLimit, CancellationTokenSource linked)
    {
        Activity = activity;
        _timeLimit = timeLimit;
        _linked = linked;
    }

    public Activity? Activity { get; }

    /// <summary>Cancelled by the caller, or once the time limit is up.</summary>
    public CancellationToken Token => _linked.Token;

    public static RestoreWorkScope Start(Action writeRecord, string spanName, TimeSpan limit, TimeProvider time,
        CancellationToken cancellationToken, params ReadOnlySpan<(string Key, object? Value)> tags)
    {
        writeRecord();
        var activity = BackupTelemetry.Source.StartActivity(spanName);
        foreach (var (key, value) in tags) activity?.SetTag(key, value);
        var timeLimit = new CancellationTokenSource(limit, time);
        return new RestoreWorkScope(activity, timeLimit, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeLimit.Token));
    }

    public void Dispose()
    {
        _linked.Dispose();
        _timeLimit.Dispose();
        Activity?.Dispose();
    }
}
