namespace Platform.Scheduler.Limits;

/// <summary>
/// Resource bounds of the scheduler process, bound from the "Scheduler:Limits" configuration section (flags below).
/// Dapr's scheduler has no flags for these: its gRPC server keeps Go's 4 MiB receive limit and its store (etcd) a
/// space quota; here the same bounds are explicit and per app.
/// </summary>
public sealed class SchedulerLimits
{
    public const string Section = "Scheduler:Limits";

    /// <summary>Largest gRPC message received or sent, in bytes (Go gRPC's and daprd's default, 4 MiB).</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most jobs one (namespace, app id) may hold; 0 = no bound. The engine's design size is a million jobs in all.</summary>
    public int MaxJobsPerApp { get; set; } = 1_000_000;

    /// <summary>Largest job payload (the serialized data Any), in bytes; 0 = no bound. A trigger carries it to the sidecar,
    /// whose gRPC limit is 4 MiB by default, so the default leaves room for the rest of the message.</summary>
    public int MaxJobDataBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Most bytes of job data one (namespace, app id) may hold in all, counted from the store (every replica's jobs);
    /// 0 = no bound. Every job's data is held in memory by the replica that fires it, so this and
    /// <see cref="MaxJobDataBytesTotal"/> bound the scheduler's memory where the count alone (a million jobs of 1 MiB) does not.
    /// </summary>
    public long MaxJobDataBytesPerApp { get; set; } = 64L * 1024 * 1024;

    /// <summary>Most jobs the whole scheduler (all apps, all replicas: the store) may hold; 0 = no bound.</summary>
    public int MaxJobs { get; set; } = 1_000_000;

    /// <summary>Most bytes of job data the whole scheduler (the store) may hold; 0 = no bound.</summary>
    public long MaxJobDataBytesTotal { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How long a trigger sent on a WatchJobs stream may go unanswered before it is taken back and redelivered (to the next
    /// stream of the app, or staged when there is none). Must exceed the sidecar's app call timeout (--app-job-timeout),
    /// or a slow but healthy app is sent the trigger twice.
    /// </summary>
    public TimeSpan TriggerAckTimeout { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Flags of these settings, merged into the scheduler's switch mappings.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--max-message-size"] = $"{Section}:{nameof(MaxMessageBytes)}",
        ["--max-jobs-per-app"] = $"{Section}:{nameof(MaxJobsPerApp)}",
        ["--max-job-data-size"] = $"{Section}:{nameof(MaxJobDataBytes)}",
        ["--max-job-data-per-app"] = $"{Section}:{nameof(MaxJobDataBytesPerApp)}",
        ["--max-jobs"] = $"{Section}:{nameof(MaxJobs)}",
        ["--max-job-data-total"] = $"{Section}:{nameof(MaxJobDataBytesTotal)}",
        ["--trigger-ack-timeout"] = $"{Section}:{nameof(TriggerAckTimeout)}",
    };

    public Engine.SchedulerEngineOptions ToEngineOptions() => new()
    {
        MaxJobsPerApp = MaxJobsPerApp,
        MaxJobDataBytes = MaxJobDataBytes,
        MaxJobDataBytesPerApp = MaxJobDataBytesPerApp,
        MaxJobs = MaxJobs,
        MaxJobDataBytesTotal = MaxJobDataBytesTotal,
        TriggerAckTimeout = TriggerAckTimeout,
    };

    /// <summary>Settings the process cannot run with; null when all are usable.</summary>
    public string? Validate()
    {
        if (MaxMessageBytes < 1024) return $"--max-message-size {MaxMessageBytes}: want at least 1024 bytes";
        if (MaxJobsPerApp < 0) return $"--max-jobs-per-app {MaxJobsPerApp}: want 0 (no bound) or more";
        if (MaxJobDataBytes < 0) return $"--max-job-data-size {MaxJobDataBytes}: want 0 (no bound) or more";
        if (MaxJobDataBytesPerApp < 0) return $"--max-job-data-per-app {MaxJobDataBytesPerApp}: want 0 (no bound) or more";
        if (MaxJobs < 0) return $"--max-jobs {MaxJobs}: want 0 (no bound) or more";
        if (MaxJobDataBytesTotal < 0) return $"--max-job-data-total {MaxJobDataBytesTotal}: want 0 (no bound) or more";
        if (TriggerAckTimeout <= TimeSpan.Zero && TriggerAckTimeout != Timeout.InfiniteTimeSpan)
            return $"--trigger-ack-timeout {TriggerAckTimeout}: want a positive time span";
        return null;
    }
}
