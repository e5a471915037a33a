namespace BackupWorker.Hosting;

/// <summary>Section <c>Demo</c>: the how-to's scenario, scheduled by itself on first start.</summary>
public sealed class DemoOptions
{
    public const string SectionName = "Demo";

    public bool Enabled { get; set; } = true;

    public string JobName { get; set; } = "prod-db-backup";

    public string Schedule { get; set; } = "@every 1m";

    public int Repeats { get; set; } = 10;

    public string Database { get; set; } = "my-prod-db";

    // The how-to writes to "/backup-dir". Every location must resolve under Backup:BackupRoot, so the demo default is
    // relative (<data>/backups/my-prod-db): a first start must not need write access to the filesystem root.
    public string BackupLocation { get; set; } = "my-prod-db";

    /// <summary>Retention of the demo schedule: keep the newest N backups.</summary>
    public int? KeepLast { get; set; } = 5;

    /// <summary>Restore drill of every Nth backup of the demo schedule (null: no drills).</summary>
    public int? DrillEvery { get; set; } = 5;

    /// <summary>Upper bound on waiting for the sidecar before the demo job is given up (logged).</summary>
    public TimeSpan SidecarWait { get; set; } = TimeSpan.FromMinutes(5);
}
