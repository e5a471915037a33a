namespace Platform.Scheduler.Engine;

/// <summary>How a delivered trigger ended.</summary>
public enum TriggerOutcome
{
    Success,
    Failed,
    /// <summary>No consumer took it (no stream, or the stream broke): staged, not counted.</summary>
    Undeliverable,
}
