namespace Platform.Scheduler.Engine;

/// <summary>
/// What few of a <see cref="JobState"/>'s jobs carry (a trace context, a quarantine reason), out of line: three
/// references in every one of 1M records cost 24 MB where one costs 8.
/// </summary>
internal sealed class JobStateRare
{
    public string? TraceParent;
    public string? TraceState;
    public string? Quarantine;
}
