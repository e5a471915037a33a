using System.Data.Common;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Backups;

/// <summary>
/// PostgreSQL: <c>pg_dump -Fc</c> of the named database into the file, then <c>pg_restore --list</c> on it (when
/// pg_restore is installed) to check the archive reads back.
/// </summary>
public sealed class PostgresBackupProvider(IOptions<BackupOptions> options) : IDatabaseBackupProvider
{
    public string Provider => "postgres";

    public string FileExtension => ".dump";

    public async Task BackupAsync(string databaseName, DatabaseOptions database, string targetFile, CancellationToken cancellationToken)
    {
        var settings = new DbConnectionStringBuilder { ConnectionString = database.ConnectionString };
        string? Get(params string[] keys) => keys.Select(k => settings.TryGetValue(k, out var v) ? v?.ToString() : null).FirstOrDefault(v => !string.IsNullOrEmpty(v));

        var arguments = new List<string> { "--format=custom", "--no-password", "--file", targetFile };
        if (Get("Host", "Server") is { } host) arguments.AddRange(["--host", host]);
        if (Get("Port") is { } port) arguments.AddRange(["--port", port]);
        if (Get("Username", "User ID", "User", "UserName") is { } user) arguments.AddRange(["--username", user]);
        var dbname = Get("Database", "Initial Catalog") ?? databaseName;
        // pg_dump reads a --dbname holding '=' or a URI as a whole connection string: a password in it would sit on
        // pg_dump's command line, which every local user can list.
        if (dbname.Contains('=', StringComparison.Ordinal) || dbname.Contains("://", StringComparison.Ordinal))
            throw new BackupFailedException($"The Database of '{databaseName}''s connection string must be a database name, not a connection string.");
        arguments.AddRange(["--dbname", dbname]);
        var environment = new Dictionary<string, string>
        {
            // A server that does not answer must fail the run, not hang it.
            ["PGCONNECT_TIMEOUT"] = "10",
        };
        var password = Get("Password", "PWD");
        if (password is not null) environment["PGPASSWORD"] = password;

        var executable = options.Value.PgDumpPath;
        var result = await ExternalProcess.RunAsync(executable, arguments, environment, cancellationToken)
            ?? throw new BackupFailedException($"pg_dump was not found ('{executable}'): install the PostgreSQL client tools (Debian: postgresql-client) or set Backup:PgDumpPath.");
        if (result.ExitCode != 0)
            throw new BackupFailedException($"pg_dump of '{databaseName}' failed (exit code {result.ExitCode}): {Redact(result.StandardError.Trim(), password)}");
    }

    // The error text goes to the catalog, the logs and the operator: never with the password in it, whatever the
    // tool chose to echo.
    private static string Redact(string text, string? password) =>
        string.IsNullOrEmpty(password) ? text : text.Replace(password, "***", StringComparison.Ordinal);

    public async Task VerifyAsync(string backupFile, CancellationToken cancellationToken)
    {
        var result = await ExternalProcess.RunAsync(options.Value.PgRestorePath, ["--list", backupFile], new Dictionary<string, string>(), cancellationToken);
        if (result is null) return; // Not installed: the dump is still complete (pg_dump exited 0); nothing more to check with.
        if (result.ExitCode != 0)
            throw new BackupFailedException($"The dump does not read back (pg_restore --list exit code {result.ExitCode}): {result.StandardError.Trim()}");
    }
}
