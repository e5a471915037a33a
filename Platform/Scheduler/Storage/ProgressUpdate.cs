namespace Platform.Scheduler.Storage;

/// <summary>A progress write for the batch writer, conditional on the job not having been replaced (partition id).</summary>
public readonly record struct ProgressUpdate(long RowId, ulong PartitionId, JobProgress Progress);
