using System.ComponentModel;
using System.Data.Common;
using System.Diagnostics;
using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using SQLitePCL;

namespace BackupWorker.Backups;

/// <summary>A backup or verification that failed for a reason worth telling the operator verbatim.</summary>
public sealed class BackupFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Writes a consistent copy of one database into a file and checks that the copy reads back.</summary>
public interface IDatabaseBackupProvider
{
    /// <summary>The provider name used in configuration (<c>sqlite</c>, <c>postgres</c>).</summary>
    string Provider { get; }

    /// <summary>File extension of the backups it writes.</summary>
    string FileExtension { get; }

    Task BackupAsync(string databaseName, DatabaseOptions database, string targetFile, CancellationToken cancellationToken);

    Task VerifyAsync(string backupFile, CancellationToken cancellationToken);
}

/// <summary>
/// SQLite: the online backup API copies a consistent snapshot even while the database is being written, then
/// <c>PRAGMA integrity_check</c> is run on the copy (not the source: the copy is what will be restored).
/// </summary>
public sealed class SqliteBackupProvider(BackupPaths paths) : IDatabaseBackupProvider
{
    public string Provider => "sqlite";

    public string FileExtension => ".db";

    /// <summary>Pages copied per step of the online backup: between steps the run can be cancelled and writers get the lock.</summary>
    internal const int PagesPerStep = 256;

    // While another connection holds a lock on the source, a step answers BUSY/LOCKED: wait this long and try again
    // (until the run is cancelled or times out), as a busy timeout would.
    private static readonly TimeSpan BusyRetryDelay = TimeSpan.FromMilliseconds(50);

    public async Task BackupAsync(string databaseName, DatabaseOptions database, string targetFile, CancellationToken cancellationToken)
    {
        var source = SourceConnectionString(database.ConnectionString);
        if (!File.Exists(source.DataSource))
            throw new BackupFailedException($"SQLite database file '{source.DataSource}' of '{databaseName}' does not exist.");
        try
        {
            using var from = new SqliteConnection(source.ToString());
            from.Open();
            using var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = targetFile, Pooling = false }.ToString());
            to.Open();
            // The online backup API in steps (SqliteConnection.BackupDatabase copies everything in one step, which
            // nothing can interrupt): a hanging or huge backup ends when the run is cancelled or times out.
            var backup = raw.sqlite3_backup_init(to.Handle, "main", from.Handle, "main")
                ?? throw new BackupFailedException($"SQLite backup of '{databaseName}' failed: {raw.sqlite3_errmsg(to.Handle).utf8_to_string()}");
            try
            {
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var rc = raw.sqlite3_backup_step(backup, PagesPerStep);
                    if (rc == raw.SQLITE_DONE) break;
                    if (rc == raw.SQLITE_OK) continue;
                    if (rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED)
                    {
                        await Task.Delay(BusyRetryDelay, cancellationToken);
                        continue;
                    }
                    throw new BackupFailedException($"SQLite backup of '{databaseName}' failed: {raw.sqlite3_errstr(rc).utf8_to_string()}");
                }
            }
            finally
            {
                raw.sqlite3_backup_finish(backup);
            }
        }
        catch (SqliteException e)
        {
            throw new BackupFailedException($"SQLite backup of '{databaseName}' failed: {e.Message}", e);
        }
    }

    public Task VerifyAsync(string backupFile, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = backupFile, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            using var reader = command.ExecuteReader();
            while (reader.Read()) problems.Add(reader.GetString(0));
        }
        catch (SqliteException e)
        {
            throw new BackupFailedException("Integrity check of the backup failed: " + e.Message, e);
        }
        if (problems is not ["ok"])
            throw new BackupFailedException("Integrity check of the backup failed: " + string.Join("; ", problems.Take(10)));
        return Task.CompletedTask;
    }

    private SqliteConnectionStringBuilder SourceConnectionString(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = false };
        if (string.IsNullOrWhiteSpace(builder.DataSource))
            throw new BackupFailedException("The SQLite connection string has no Data Source.");
        builder.DataSource = paths.Resolve(builder.DataSource);
        // Read-only: a backup must never create or alter the database it copies.
        builder.Mode = SqliteOpenMode.ReadOnly;
        return builder;
    }
}

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

internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);

internal static class ExternalProcess
{
    /// <summary>Runs a program to completion; null when the program does not exist. Killed when cancelled.</summary>
    public static async Task<ProcessResult?> RunAsync(string executable, IEnumerable<string> arguments, IDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (Win32Exception)
        {
            return null;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw;
            }
            return new ProcessResult(process.ExitCode, await stdout, await stderr);
        }
    }
}
