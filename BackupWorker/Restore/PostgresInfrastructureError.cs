namespace BackupWorker.Restore;

/// <summary>pg_restore's messages that tell of the server or its machine, not of the dump being restored.</summary>
internal static class PostgresInfrastructureError
{
    private static readonly string[] Signs =
    [
        "could not connect", "connection to server", "server closed the connection", "terminating connection",
        "the database system is", "No space left on device", "could not extend file", "out of memory", "too many clients",
    ];

    public static bool Matches(string error) => Signs.Any(sign => error.Contains(sign, StringComparison.OrdinalIgnoreCase));
}
