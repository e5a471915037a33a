namespace BackupWorker.Schedules;

/// <summary>A request the worker refuses, with the HTTP status and text to answer it with.</summary>
public sealed class ScheduleProblemException(int status, string title, string detail, IDictionary<string, string[]>? errors = null) : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public IDictionary<string, string[]>? Errors { get; } = errors;
}
