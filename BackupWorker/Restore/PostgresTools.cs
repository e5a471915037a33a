using System.ComponentModel;
using System.Diagnostics;
using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>Runs psql, pg_restore and pg_dump for restores and drills.</summary>
public sealed class PostgresTools(Microsoft.Extensions.Options.IOptions<BackupOptions> options)
{
    /// <summary>Runs one SQL statement on the server's maintenance database (<c>postgres</c>); returns psql's unaligned output.</summary>
    public async Task<string> SqlAsync(PostgresServerAddress server, string sql, CancellationToken cancellationToken)
    {
        var (exit, output, error) = await RunAsync(options.Value.PsqlPath, "Backup:PsqlPath",
            [.. server.ConnectionArguments(), "--dbname=postgres", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], server, null, cancellationToken);
        return Result(server, exit, output, error);
    }

    /// <summary>
    /// Runs a psql script (given on standard input, so it may use <c>\gexec</c>) on the maintenance database. Each of
    /// <paramref name="variables"/> is a psql variable the script names as <c>:'name'</c> (a quoted literal) or
    /// <c>:"name"</c> (a quoted identifier): psql quotes the values, nothing is pasted into SQL text.
    /// </summary>
    /// <param name="singleTransaction">All of the script or none of it (<c>--single-transaction</c>).</param>
    /// <param name="applicationName">The session's <c>application_name</c>, by which it can be found in pg_stat_activity.</param>
    public async Task<string> ScriptAsync(PostgresServerAddress server, string script, IReadOnlyDictionary<string, string> variables, CancellationToken cancellationToken,
        bool singleTransaction = false, string? applicationName = null)
    {
        // Quiet: the output is what the script selects, without command tags.
        List<string> arguments = [.. server.ConnectionArguments(), "--dbname=postgres", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "-At", "--file=-"];
        if (singleTransaction) arguments.Add("--single-transaction");
        foreach (var (name, value) in variables)
        {
            arguments.Add("-v");
            arguments.Add($"{name}={value}");
        }
        var (exit, output, error) = await RunAsync(options.Value.PsqlPath, "Backup:PsqlPath", arguments, server, null, cancellationToken, script, applicationName);
        return Result(server, exit, output, error);
    }

    private static string Result(PostgresServerAddress server, int exit, string output, string error)
    {
        if (exit == 0) return output.Trim();
        if (exit == 2 || error.Contains("could not connect", StringComparison.OrdinalIgnoreCase) || error.Contains("connection to server", StringComparison.OrdinalIgnoreCase))
            throw new PostgresUnavailableException($"The PostgreSQL server {server.Host ?? "(default)"}:{server.Port ?? "5432"} could not be reached: {error.Trim()}");
        throw new PostgresSqlException(error.Trim());
    }

    /// <summary>
    /// Called with the temp database's name just before a replace swaps it in (nothing restored is dropped from then
    /// on). Tests use it to make the swap fail or to cancel it while it runs.
    /// </summary>
    internal Func<string, CancellationToken, Task>? BeforeSwap { get; set; }

    public async Task<bool> DatabaseExistsAsync(PostgresServerAddress server, string name, CancellationToken cancellationToken) =>
        await SqlAsync(server, $"SELECT 1 FROM pg_database WHERE datname = '{name}'", cancellationToken) == "1";

    /// <summary>pg_restore of a custom-format dump into an existing (empty) database; null on success, else pg_restore's error.</summary>
    public async Task<string?> RestoreAsync(PostgresServerAddress server, string dumpFile, string database, CancellationToken cancellationToken)
    {
        var (exit, _, error) = await RunAsync(options.Value.PgRestorePath, "Backup:PgRestorePath",
            [.. server.ConnectionArguments(), "--dbname=" + database, "--exit-on-error", dumpFile], server, null, cancellationToken);
        return exit == 0 ? null : $"pg_restore exit code {exit}: {error.Trim()}";
    }

    /// <summary>The dump as SQL text (<c>pg_restore -f -</c>), line by line, without holding it in memory.</summary>
    public async Task ReadDumpAsync(string dumpFile, Action<string> line, CancellationToken cancellationToken)
    {
        var (exit, _, error) = await RunAsync(options.Value.PgRestorePath, "Backup:PgRestorePath", ["--file=-", dumpFile], null, line, cancellationToken);
        if (exit != 0) throw new PostgresSqlException($"The dump does not read back (pg_restore exit code {exit}): {error.Trim()}");
    }

    /// <summary>A plain-text dump of a live database (<c>pg_dump</c>), line by line.</summary>
    public async Task ReadDatabaseAsync(PostgresServerAddress server, string database, Action<string> line, CancellationToken cancellationToken)
    {
        var (exit, _, error) = await RunAsync(options.Value.PgDumpPath, "Backup:PgDumpPath", [.. server.ConnectionArguments(), "--dbname=" + database], server, line, cancellationToken);
        if (exit != 0) throw new PostgresSqlException($"pg_dump of {database} failed (exit code {exit}): {error.Trim()}");
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(
        string executable, string setting, IEnumerable<string> arguments, PostgresServerAddress? server, Action<string>? line, CancellationToken cancellationToken,
        string? input = null, string? applicationName = null)
    {
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null, UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        if (server is not null) foreach (var (k, v) in server.Environment()) psi.Environment[k] = v;
        if (applicationName is not null) psi.Environment["PGAPPNAME"] = applicationName;
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (Win32Exception)
        {
            throw new PostgresUnavailableException($"{Path.GetFileName(executable)} was not found ('{executable}'): install the PostgreSQL client tools (Debian: postgresql-client) or set {setting}.");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                if (input is not null)
                {
                    // A script is far smaller than a pipe's buffer, so writing it before reading the output cannot block. A psql
                    // that ended first (no server) closed its end: its exit code and message say why, not the broken pipe.
                    try
                    {
                        await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
                        process.StandardInput.Close();
                    }
                    catch (IOException) { }
                }
                string output;
                if (line is null) output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
                else
                {
                    output = "";
                    while (await process.StandardOutput.ReadLineAsync(cancellationToken) is { } text) line(text);
                }
                await process.WaitForExitAsync(cancellationToken);
                return (process.ExitCode, output, await stderr);
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw;
            }
        }
    }
}
