namespace BackupWorker.Hosting;

/// <summary>One entry of <c>Backup:Databases</c>: which engine holds the database and how to reach it.</summary>
public sealed class DatabaseOptions
{
    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>
    /// SQLite: <c>Data Source=file.db</c> (a relative file resolves under the data directory).
    /// PostgreSQL: <c>Host=..;Port=..;Username=..;Password=..;Database=..</c> (Database defaults to the configured name).
    /// </summary>
    public string ConnectionString { get; set; } = "";
}
