using System.Diagnostics;
using TestSupport;

namespace BackupWorker.Tests;

/// <summary>Skips a test, saying why, when Debian's PostgreSQL 15 server or client tools are not installed.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.MissingReason is { } reason) Skip = reason;
    }
}

/// <summary>
/// A throwaway PostgreSQL 15 cluster on a free loopback port: initdb into a temp directory, then the postgres server
/// (as the postgres user when the tests run as root, since the server refuses root). Ended by id on dispose.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private readonly string _root;
    private TestProcess? _server;

    private PostgresServer(string root, int port, string? password)
    {
        _root = root;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    /// <summary>The postgres user's password when the server checks passwords (scram-sha-256); null: trust.</summary>
    public string? Password { get; }

    public string ConnectionString(string? database = null) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres" + (Password is null ? "" : $";Password={Password}") + (database is null ? "" : $";Database={database}");

    public static string? MissingReason
    {
        get
        {
            string[] needed = [Path.Combine(BinDirectory, "initdb"), Path.Combine(BinDirectory, "postgres"), Path.Combine(BinDirectory, "pg_dump"),
                Path.Combine(BinDirectory, "pg_restore"), Path.Combine(BinDirectory, "psql")];
            var missing = needed.Where(f => !File.Exists(f)).ToList();
            return missing.Count == 0 ? null
                : $"PostgreSQL 15 is not installed (missing {string.Join(", ", missing)}); install it with 'apt-get install postgresql' (test.sh does this when run as root).";
        }
    }

    private static bool IsRoot => Environment.UserName == "root";

    /// <param name="password">When given, the server takes only this password (scram-sha-256) for the postgres user.</param>
    public static async Task<PostgresServer> StartAsync(string? password = null)
    {
        var root = Directory.CreateTempSubdirectory("pg-test-").FullName;
        var server = new PostgresServer(root, FreePort.Next(), password);
        try
        {
            await server.LaunchAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    private async Task LaunchAsync()
    {
        var data = Path.Combine(_root, "data");
        string[] auth = ["-A", "trust"];
        if (Password is not null)
        {
            var passwordFile = Path.Combine(_root, "pwfile");
            await File.WriteAllTextAsync(passwordFile, Password + "\n");
            auth = ["-A", "scram-sha-256", "--pwfile", passwordFile];
        }
        if (IsRoot) await RunAsync("chown", ["-R", "postgres:postgres", _root], asPostgres: false);
        await RunAsync(Path.Combine(BinDirectory, "initdb"), ["-D", data, "-U", "postgres", .. auth, "-E", "UTF8", "--no-sync"], asPostgres: true);
        _server = TestProcess.Start("postgres", Command(Path.Combine(BinDirectory, "postgres"),
            ["-D", data, "-p", Port.ToString(), "-k", _root, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"], asPostgres: true));
        await _server.WaitForOutputAsync(l => l.Contains("database system is ready to accept connections", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    /// <summary>Runs SQL with psql and returns its unaligned output.</summary>
    public Task<string> PsqlAsync(string database, string sql) =>
        RunAsync(Path.Combine(BinDirectory, "psql"), ["-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], asPostgres: false, Password);

    public Task<string> RestoreAsync(string dumpFile, string database) =>
        RunAsync(Path.Combine(BinDirectory, "pg_restore"), ["-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", "-d", database, "--exit-on-error", dumpFile], asPostgres: false, Password);

    private static ProcessStartInfo Command(string file, IEnumerable<string> args, bool asPostgres)
    {
        var psi = asPostgres && IsRoot ? new ProcessStartInfo("runuser") : new ProcessStartInfo(file);
        if (asPostgres && IsRoot)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file }) psi.ArgumentList.Add(a);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        psi.WorkingDirectory = "/tmp";
        return psi;
    }

    private static async Task<string> RunAsync(string file, IEnumerable<string> args, bool asPostgres, string? password = null)
    {
        // A tool that hangs is killed at the bound, and dies with the test host like the server.
        var psi = Command(file, args, asPostgres);
        if (password is not null) psi.Environment["PGPASSWORD"] = password;
        await using var tool = TestProcess.Start(Path.GetFileName(file), psi);
        var exitCode = await tool.WaitForExitAsync(TimeSpan.FromSeconds(120));
        if (exitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {exitCode}: {string.Join(Environment.NewLine, tool.Output)}");
        return string.Join("\n", tool.StandardOutput).Trim();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
