namespace BackupWorker.Restore;

/// <summary>A restore refused or failed, with the HTTP status and text to answer it with (and its record, when there is one).</summary>
public sealed class RestoreProblemException(int status, string title, string detail, RestoreRecord? record = null, IDictionary<string, string[]>? errors = null,
    Exception? inner = null)
    : Exception(detail, inner)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public RestoreRecord? Record { get; } = record;
    public IDictionary<string, string[]>? Errors { get; } = errors;

    public RestoreProblemException WithRecord(RestoreRecord record) => new(Status, Title, Message, record, Errors, InnerException);
}
