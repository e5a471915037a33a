using System.Diagnostics;
using System.Net.Sockets;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Restore;
using Microsoft.Data.Sqlite;
using TestSupport;
using Xunit.Abstractions;

namespace BackupWorker.Tests;

/// <summary>
/// What the destructive scenarios (Destructive*Tests) share: a BackupWorker process that can be killed with SIGKILL and
/// started again on the same data directory, a PostgreSQL 15 cluster that can be stopped and started again, the count
/// of restorable backups as the files and the catalog show it, and the one table row each scenario writes.
/// </summary>
internal static class DestructiveScenario
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>The row of docs/data-safety.md, one fixed format: scenario | restorable before -> after | rows lost | catalog says | operator sees.</summary>
    public static void WriteRow(ITestOutputHelper output, string scenario, int before, int after, int rowsLost, string catalogSays, string operatorSees) =>
        output.WriteLine($"DATA-SAFETY-ROW | {scenario} | {before} -> {after} | {rowsLost} | {Cell(catalogSays)} | {Cell(operatorSees)} |");

    private static string Cell(string text) => text.Replace("|", "/", StringComparison.Ordinal).ReplaceLineEndings(" ");

    public static StringContent Payload(string database, string location) =>
        new($"{{\"task\":\"db-backup\",\"metadata\":{{\"DBName\":\"{database}\",\"BackupLocation\":\"{location}\"}}}}", Encoding.UTF8, "application/json");

    /// <summary>
    /// Backups of <paramref name="database"/> a restore could use now: listed by the catalog, their file present with the
    /// recorded SHA-256, and not marked unrestorable by a drill.
    /// </summary>
    public static int Restorable(string data, string database)
    {
        var paths = new BackupPaths(data, data);
        var restores = new RestoreCatalog(paths);
        return new BackupCatalog(paths).ListBackups(database: database).Count(b =>
            b.File is { } file && File.Exists(file) && b.Checksum == Sha256(file) && restores.IsRestorable(b.Id));
    }

    /// <summary>Backups of <paramref name="database"/> the catalog lists (GET /backups), whether or not their file is there.</summary>
    public static int Listed(string data, string database) => new BackupCatalog(new BackupPaths(data, data)).ListBackups(database: database).Count;

    public static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static SqliteConnection OpenSqlite(string file, int busyTimeoutMs = 30_000)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        connection.Open();
        Execute(connection, $"PRAGMA busy_timeout = {busyTimeoutMs}");
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Whether another process holds SQLite's PENDING lock on <paramref name="file"/> (a writer waiting for, or holding,
    /// EXCLUSIVE), asked of the kernel with F_GETLK on the PENDING byte. A SQLite connection of this process cannot
    /// tell: it shares the process's SHARED lock instead of asking. <paramref name="handle"/> stays open: closing a
    /// descriptor of the file would drop this process's SQLite locks on it.
    /// </summary>
    public static bool OtherProcessHoldsPending(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        var query = new FLock { Type = 0 /* F_RDLCK */, Whence = 0, Start = 0x40000000, Length = 1 };
        if (Fcntl(handle.DangerousGetHandle().ToInt32(), 5 /* F_GETLK */, ref query) != 0)
            throw new IOException($"fcntl(F_GETLK) failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        return query.Type != 2 /* F_UNLCK */;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct FLock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, ref FLock flock);

    /// <summary>Primary keys of table <paramref name="table"/> in a SQLite file (read-only).</summary>
    public static HashSet<long> SqliteIds(string file, string table = "customers")
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id FROM \"{table}\"";
        using var reader = command.ExecuteReader();
        var ids = new HashSet<long>();
        while (reader.Read()) ids.Add(reader.GetInt64(0));
        return ids;
    }

    /// <summary>Waits for <paramref name="condition"/>; on timeout the failure names the record at <paramref name="url"/> and the worker's last lines.</summary>
    public static async Task WaitForStateAsync(Worker worker, string url, Func<Task<bool>> condition, string what)
    {
        try
        {
            await Poll.UntilAsync(condition, Bound, what);
        }
        catch (TimeoutException e)
        {
            var record = await worker.Http.GetStringAsync(url);
            throw new TimeoutException($"{e.Message} {url}: {record}{Environment.NewLine}{string.Join(Environment.NewLine, worker.Process.Output.TakeLast(30))}", e);
        }
    }

    /// <summary>Polls a restore or drill record until it is no longer Running.</summary>
    public static Task<JsonElement> EndedAsync(HttpClient http, string url) =>
        Poll.UntilAsync(async () =>
        {
            var record = await http.GetFromJsonAsync<JsonElement>(url);
            return record.GetProperty("outcome").GetString() is "Running" or "Queued" ? (JsonElement?)null : record;
        }, Bound, $"{url} ended");

    /// <summary>The outcome and the start of the error of a record, for the table.</summary>
    public static string Says(JsonElement record, int length = 110)
    {
        var error = record.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "";
        var outcome = record.GetProperty("outcome").GetString();
        return error.Length == 0 ? outcome! : $"{outcome}: \"{(error.Length > length ? error[..length] + "…" : error)}\"";
    }

    /// <summary>Sends a request whose answer the kill may cut: the status, or what the client saw instead.</summary>
    public static async Task<string> AnswerOrCutAsync(Task<HttpResponseMessage> request)
    {
        try
        {
            using var response = await request.WaitAsync(Bound);
            return $"HTTP {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            return "no answer (" + (e.InnerException?.Message ?? e.Message) + ")";
        }
        catch (SocketException e)
        {
            // A kill right after the connection was accepted: HttpClient then reads the peer's address off a socket
            // already reset and lets the socket's error through unwrapped.
            return "no answer (" + e.Message + ")";
        }
    }

    /// <summary>
    /// BackupWorker as a process over a data directory this object owns (no sidecar: triggers are posted as the sidecar
    /// would). <see cref="KillAsync"/> ends it with SIGKILL; <see cref="StartAsync"/> starts it again on the same data.
    /// </summary>
    public sealed class Worker : IAsyncDisposable
    {
        private readonly Dictionary<string, string?> _environment;
        private readonly int _port = FreePort.Next();
        private readonly List<int> _orphans = [];

        public Worker(IDictionary<string, string?>? settings = null, string? dataDirectory = null)
        {
            DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("backupworker-destructive-").FullName;
            _environment = new Dictionary<string, string?>
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{_port}",
                ["Backup__DataDirectory"] = DataDirectory,
                ["Demo__Enabled"] = "false",
                ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{FreePort.Next()}", // nothing listens: no sidecar
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
            };
            foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) _environment[k] = v;
            Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = Bound };
        }

        public string DataDirectory { get; }
        public HttpClient Http { get; }
        public TestProcess Process => _process ?? throw new InvalidOperationException("The worker is not running.");

        private TestProcess? _process;
        public string SqliteDatabase => Path.Combine(DataDirectory, "databases", "my-prod-db.db");

        public async Task<Worker> StartAsync()
        {
            _process = TestProcess.StartDotnet("backupworker", RepoPaths.ProjectOutput("BackupWorker", "BackupWorker"), [], _environment);
            await Process.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), Bound);
            return this;
        }

        /// <summary>
        /// SIGKILL of the worker process alone, as <c>kill -9 &lt;pid&gt;</c> does: the tools it started (psql,
        /// pg_restore) live on, as they would; they are ended on dispose.
        /// </summary>
        public async Task KillAsync()
        {
            if (_process is not { } process) return;
            _process = null;
            _orphans.AddRange(Descendants(process.Id));
            using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", process.Id.ToString()]))
                await kill.WaitForExitAsync();
            await process.WaitForExitAsync(Bound);
            await process.DisposeAsync();
        }

        /// <summary>Tools the killed worker left running (by pid), still alive.</summary>
        public IReadOnlyList<int> LiveOrphans => _orphans.Where(p => File.Exists($"/proc/{p}/stat") && !IsZombie(p)).ToList();

        public async Task<JsonElement> TriggerAsync(string job, string database, string location)
        {
            using var response = await Http.PostAsync($"/job/{job}", Payload(database, location));
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (_process is not null) await _process.DisposeAsync();
            foreach (var pid in LiveOrphans)
            {
                using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", pid.ToString()]);
                await kill.WaitForExitAsync();
            }
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        private static IEnumerable<int> Descendants(int pid)
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                string children;
                try { children = File.ReadAllText(Path.Combine(task, "children")); } catch (IOException) { continue; }
                foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse))
                {
                    yield return child;
                    foreach (var grandchild in Descendants(child)) yield return grandchild;
                }
            }
        }

        private static bool IsZombie(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
            }
            catch (IOException) { return true; }
        }
    }

    /// <summary>
    /// A PostgreSQL 15 cluster on a free loopback port that a test can stop (fast shutdown) and start again on the same
    /// data, as PostgresServer starts one (as the postgres user when the tests run as root).
    /// </summary>
    public sealed class Postgres : IAsyncDisposable
    {
        private const string Bin = "/usr/lib/postgresql/15/bin";
        private readonly string _root = Directory.CreateTempSubdirectory("pg-destructive-").FullName;
        private TestProcess? _server;

        public int Port { get; } = FreePort.Next();
        private string Data => Path.Combine(_root, "data");
        private static bool IsRoot => Environment.UserName == "root";

        public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database}";

        public static async Task<Postgres> StartAsync()
        {
            var server = new Postgres();
            try
            {
                if (IsRoot) await RunAsync("chown", ["-R", "postgres:postgres", server._root], asPostgres: false);
                await RunAsync(Path.Combine(Bin, "initdb"), ["-D", server.Data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"], asPostgres: true);
                await server.StartAgainAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
            return server;
        }

        public async Task StartAgainAsync()
        {
            _server = TestProcess.Start("postgres", Command(Path.Combine(Bin, "postgres"),
                ["-D", Data, "-p", Port.ToString(), "-k", _root, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"], asPostgres: true));
            await _server.WaitForOutputAsync(l => l.Contains("database system is ready to accept connections", StringComparison.Ordinal), Bound);
        }

        /// <summary>Fast shutdown (SIGINT to the postmaster, by the pid in its postmaster.pid): sessions are ended, nothing is kept running.</summary>
        public async Task StopAsync()
        {
            var pid = File.ReadLines(Path.Combine(Data, "postmaster.pid")).First().Trim();
            using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", pid])) await kill.WaitForExitAsync();
            await _server!.WaitForExitAsync(Bound);
            await _server.DisposeAsync();
            _server = null;
        }

        public Task<string> PsqlAsync(string database, string sql) =>
            RunAsync("psql", ["-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], asPostgres: false);

        /// <summary>
        /// A psql session on the maintenance database kept open with <paramref name="sql"/> run in an open transaction
        /// (holding its locks) until the returned session is disposed, which rolls it back.
        /// </summary>
        public async Task<HeldTransaction> HoldAsync(string sql)
        {
            var psi = new ProcessStartInfo("psql")
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in (string[])["-h", "127.0.0.1", "-p", Port.ToString(), "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-At"]) psi.ArgumentList.Add(a);
            var process = System.Diagnostics.Process.Start(psi)!;
            var held = new HeldTransaction(process);
            await process.StandardInput.WriteLineAsync($"BEGIN; {sql}; SELECT 'held';");
            await process.StandardInput.FlushAsync();
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(Bound);
            Assert.Equal("held", line);
            return held;
        }

        private static ProcessStartInfo Command(string file, IEnumerable<string> args, bool asPostgres)
        {
            var psi = asPostgres && IsRoot ? new ProcessStartInfo("runuser") : new ProcessStartInfo(file);
            if (asPostgres && IsRoot) foreach (var a in new[] { "-u", "postgres", "--", file }) psi.ArgumentList.Add(a);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.UseShellExecute = false;
            psi.WorkingDirectory = "/tmp";
            return psi;
        }

        private static async Task<string> RunAsync(string file, IEnumerable<string> args, bool asPostgres)
        {
            await using var tool = TestProcess.Start(Path.GetFileName(file), Command(file, args, asPostgres));
            var exit = await tool.WaitForExitAsync(Bound);
            if (exit != 0) throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {exit}: {string.Join(Environment.NewLine, tool.Output)}");
            return string.Join("\n", tool.StandardOutput).Trim();
        }

        public async ValueTask DisposeAsync()
        {
            if (_server is not null) await _server.DisposeAsync();
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>An open psql transaction (see <see cref="Postgres.HoldAsync"/>); disposing it rolls it back and ends psql.</summary>
    public sealed class HeldTransaction(Process psql) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                if (!psql.HasExited)
                {
                    await psql.StandardInput.WriteLineAsync("ROLLBACK;");
                    psql.StandardInput.Close();
                    using var cts = new CancellationTokenSource(Bound);
                    try { await psql.WaitForExitAsync(cts.Token); }
                    catch (OperationCanceledException) { psql.Kill(); }
                }
            }
            catch (IOException) { } // psql already gone (its server stopped)
            psql.Dispose();
        }
    }

    /// <summary>Skips a test, saying why, when this machine does not let the tests mount a tmpfs (no root, or no CAP_SYS_ADMIN).</summary>
    public sealed class TmpfsFactAttribute : FactAttribute
    {
        public TmpfsFactAttribute()
        {
            if (Tmpfs.MissingReason is { } reason) Skip = reason;
        }
    }

    /// <summary>A small tmpfs mounted on a directory, unmounted on dispose: a disk that fills up.</summary>
    public sealed class Tmpfs : IAsyncDisposable
    {
        private readonly string _directory;

        private Tmpfs(string directory) => _directory = directory;

        private static readonly Lazy<string?> Probe = new(() =>
        {
            var probe = Directory.CreateTempSubdirectory("tmpfs-probe-").FullName;
            try
            {
                var (exit, error) = Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe);
                if (exit != 0) return $"A tmpfs cannot be mounted here (`mount -t tmpfs -o size=64k tmpfs {probe}` exited {exit}: {error.Trim()}); the full-disk scenario needs root with CAP_SYS_ADMIN.";
                Run("umount", probe);
                return null;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return $"mount is not available here ({e.Message}); the full-disk scenario needs it.";
            }
            finally
            {
                try { Directory.Delete(probe); } catch (IOException) { }
            }
        });

        public static string? MissingReason => Probe.Value;

        public static Tmpfs Mount(string directory, string size)
        {
            Directory.CreateDirectory(directory);
            var (exit, error) = Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", directory);
            if (exit != 0) throw new InvalidOperationException($"mount of a tmpfs on {directory} failed: {error}");
            return new Tmpfs(directory);
        }

        private static (int Exit, string Error) Run(string file, params string[] args)
        {
            using var process = System.Diagnostics.Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, error);
        }

        public ValueTask DisposeAsync()
        {
            Run("umount", _directory);
            return ValueTask.CompletedTask;
        }
    }
}
