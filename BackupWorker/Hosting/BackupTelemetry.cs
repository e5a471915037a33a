using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace BackupWorker.Hosting;

/// <summary>The worker's traces and metrics, named after the component (ServiceDefaults subscribes to "BackupWorker").</summary>
public sealed class BackupTelemetry : IDisposable
{
    public const string Name = "BackupWorker";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>Fine below a second, where a healthy trigger path lies, so the dashboard's percentiles mean something there.</summary>
    private static readonly double[] TriggerDelayBuckets =
        [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600];

    private readonly Meter _meter;

    public BackupTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        Runs = _meter.CreateCounter<long>("backup.runs", "{run}", "Backup runs by outcome.");
        Bytes = _meter.CreateCounter<long>("backup.bytes", "By", "Bytes written by successful backups.");
        Duration = _meter.CreateHistogram<double>("backup.duration", "s", "Duration of backup runs.");
        Pruned = _meter.CreateCounter<long>("backup.pruned", "{backup}", "Backups removed by retention.");
        Restores = _meter.CreateCounter<long>("backup.restores", "{restore}", "Restores by outcome.");
        RestoreDuration = _meter.CreateHistogram<double>("backup.restore.duration", "s", "Duration of restores.");
        Drills = _meter.CreateCounter<long>("backup.drills", "{drill}", "Restore drills by outcome.");
        Copies = _meter.CreateCounter<long>("backup.copies", "{copy}", "Attempts to copy a backup into an object repository, by repository and outcome (verified, pending, failed).");
        CopyBytes = _meter.CreateCounter<long>("backup.copy.bytes", "By", "Bytes stored in object repositories by verified copies (after compression and encryption).");
        CopyDuration = _meter.CreateHistogram<double>("backup.copy.duration", "s", "Duration of copy attempts into object repositories.");
        Coalesced = _meter.CreateCounter<long>("backup.coalesced", "{trigger}", "Job triggers answered without a backup: a run that started after their scheduled time covers them.");
        TriggerDelay = _meter.CreateHistogram<double>("backup.trigger.delay", "s",
            "How long after its scheduled time a job trigger reached the worker (triggers that carry their scheduled time).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TriggerDelayBuckets });
    }

    public Counter<long> Runs { get; }
    public Counter<long> Bytes { get; }
    public Histogram<double> Duration { get; }
    public Counter<long> Pruned { get; }
    public Counter<long> Restores { get; }
    public Histogram<double> RestoreDuration { get; }
    public Counter<long> Drills { get; }
    public Counter<long> Coalesced { get; }
    public Histogram<double> TriggerDelay { get; }
    public Counter<long> Copies { get; }
    public Counter<long> CopyBytes { get; }
    public Histogram<double> CopyDuration { get; }

    public void Dispose() => _meter.Dispose();
}
