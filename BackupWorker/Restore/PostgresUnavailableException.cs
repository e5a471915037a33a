namespace BackupWorker.Restore;

/// <summary>A PostgreSQL tool is not installed, or the server cannot be reached: the restore cannot start (503).</summary>
public sealed class PostgresUnavailableException(string message) : Exception(message);
