namespace Platform.Scheduler.Engine;

/// <summary>
/// What few of a <see cref="JobState"/>'s jobs carry out of line: a trace context, a quarantine reason, and data held
/// in memory (a job scheduled since start; loaded jobs leave their data in the store). Four references in every one of
/// 1M records cost 32 MB where one costs 8.
/// </summary>
internal sealed class JobStateRare
{
    public string? TraceParent;
    public string? TraceState;
    public string? Quarantine;
    public byte[]? Data;
}
