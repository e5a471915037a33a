namespace Platform.Scheduler.Engine;

public sealed class SchedulerEngineOptions
{
    /// <summary>
    /// The share of the jobs the engine owns from the start: all of them for a single scheduler; null for a replica
    /// of several, which owns nothing until the replicas agree on the partitions (<see cref="SchedulerEngine.AssumeOwnershipAsync"/>).
    /// </summary>
    public Partition? Partition { get; set; } = Engine.Partition.All;
    /// <summary>Most triggers dispatched per pass before the loop yields.</summary>
    public int DispatchBatch { get; set; } = 4096;
    /// <summary>Most jobs one (namespace, app id) may hold; 0 = no bound. Counts the jobs in the store (every replica's).</summary>
    public int MaxJobsPerApp { get; set; }
    /// <summary>Largest serialized job data in bytes; 0 = no bound.</summary>
    public int MaxJobDataBytes { get; set; }
    /// <summary>Most bytes of job data one (namespace, app id) may hold in all; 0 = no bound.</summary>
    public long MaxJobDataBytesPerApp { get; set; }
    /// <summary>Most jobs the whole scheduler (the store) may hold; 0 = no bound.</summary>
    public int MaxJobs { get; set; }
    /// <summary>Most bytes of job data the whole scheduler (the store) may hold; 0 = no bound.</summary>
    public long MaxJobDataBytesTotal { get; set; }
    /// <summary>How long a sent trigger may go unanswered before it is taken back and redelivered; infinite = never.</summary>
    public TimeSpan TriggerAckTimeout { get; set; } = Timeout.InfiniteTimeSpan;
}
