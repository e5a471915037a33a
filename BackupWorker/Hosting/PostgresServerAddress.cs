using System.Data.Common;

namespace BackupWorker.Hosting;

/// <summary>Where a configured PostgreSQL database lives, as the client tools take it (flags and PG* environment).</summary>
public sealed record PostgresServerAddress(string? Host, string? Port, string? User, string? Password, string Database)
{
    public static PostgresServerAddress From(string connectionString, string fallbackDatabase)
    {
        var settings = new DbConnectionStringBuilder { ConnectionString = connectionString };
        string? Get(params string[] keys) => keys.Select(k => settings.TryGetValue(k, out var v) ? v?.ToString() : null).FirstOrDefault(v => !string.IsNullOrEmpty(v));
        return new PostgresServerAddress(Get("Host", "Server"), Get("Port"), Get("Username", "User ID", "User", "UserName"), Get("Password"),
            Get("Database", "Initial Catalog") ?? fallbackDatabase);
    }

    /// <summary>Host, port and user flags of psql, pg_restore and pg_dump.</summary>
    public IEnumerable<string> ConnectionArguments()
    {
        if (Host is not null) yield return "--host=" + Host;
        if (Port is not null) yield return "--port=" + Port;
        if (User is not null) yield return "--username=" + User;
        yield return "--no-password";
    }

    public Dictionary<string, string> Environment()
    {
        // A server that does not answer must fail the restore, not hang it.
        var environment = new Dictionary<string, string> { ["PGCONNECT_TIMEOUT"] = "10" };
        if (Password is not null) environment["PGPASSWORD"] = Password;
        return environment;
    }
}
