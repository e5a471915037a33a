using Platform.Hosting.Dapr;

/// <summary>
/// The routes BackupApi's WorkerClient calls on BackupWorker through service invocation: the only calls the worker's
/// sidecars let through (BackupApi is the worker's only caller; BackupApi itself accepts none). Written for Dapr's
/// matching: a rule on a path also covers every path below it, so each route family is '/x/*' (the bare path and one
/// segment below) plus '/x/**' (deeper) with the verbs BackupApi uses there.
/// </summary>
public static class WorkerInvocation
{
    public static readonly DaprOperation[] UsedByBackupApi =
    [
        new("/schedules/*", "GET", "POST", "DELETE"), // list, create; get, delete one
        new("/schedules/**", "POST", "GET", "PUT"),   // {name}/run (POST), {name}/drill (GET, PUT)
        new("/backups/*", "GET"),                     // list; one backup's details
        new("/backups/**", "POST"),                   // {id}/drill
        new("/runs/*", "GET"),
        new("/restores/*", "GET", "POST"),            // list, request; one restore
        new("/drills/*", "GET"),                      // list; one drill
    ];
}
