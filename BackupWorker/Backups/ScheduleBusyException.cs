namespace BackupWorker.Backups;

/// <summary>A second run of a schedule while one is in progress (in this process or another worker on the same data directory).</summary>
public sealed class ScheduleBusyException(string schedule)
    : Exception($"A backup of schedule '{schedule}' is already running; one run of a schedule at a time.")
{
    public string Schedule { get; } = schedule;
}
