namespace BackupWorker.Restore;

/// <summary>psql or pg_restore refused: the server's message.</summary>
public sealed class PostgresSqlException(string message) : Exception(message);
