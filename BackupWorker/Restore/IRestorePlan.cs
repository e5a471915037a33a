using BackupWorker.Backups;

namespace BackupWorker.Restore;

/// <summary>One restore, planned: everything that could refuse it has been checked, and nothing has been touched yet.</summary>
internal interface IRestorePlan
{
    string Target { get; }

    /// <summary>The target is the backed-up database itself.</summary>
    bool OverwritesSource { get; }

    /// <summary>Where the replaced target will be kept (null: nothing is replaced).</summary>
    string? SafetyCopy { get; }

    /// <summary>Restores from <paramref name="source"/> (the backup as a local file); returns where the replaced target was kept, if one was replaced.</summary>
    Task<string?> ExecuteAsync(BackupRun source, CancellationToken cancellationToken);
}
