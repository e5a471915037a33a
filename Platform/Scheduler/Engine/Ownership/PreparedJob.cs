namespace Platform.Scheduler.Engine;

/// <summary>A stored job made into the engine's record, not yet installed; <see cref="Error"/> set when it is to be quarantined.</summary>
internal readonly record struct PreparedJob(JobState State, Exception? Error);
