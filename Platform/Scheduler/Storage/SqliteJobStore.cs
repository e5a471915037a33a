using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage;

public sealed class SqliteJobStoreOptions
{
    /// <summary>How long queued progress may wait for a commit when no awaited write comes along.</summary>
    public TimeSpan ProgressFlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);
    /// <summary>Most awaited writes in one transaction.</summary>
    public int MaxBatch { get; set; } = 8192;
    /// <summary>SQLite synchronous mode: FULL survives power loss; NORMAL survives process crashes only.</summary>
    public string Synchronous { get; set; } = "FULL";
}

/// <summary>
/// The embedded store: one SQLite file (<c>&lt;data-dir&gt;/scheduler.db</c>, WAL). All writes go through one
/// writer loop that commits whatever is waiting in a single transaction (group commit), so many concurrent
/// durable ScheduleJob calls share one fsync; queued progress rides along or is flushed on a short interval.
/// </summary>
public sealed partial class SqliteJobStore : IJobStore, Limits.IJobStoreUsage
{
    private const string Columns =
        "id, namespace, app_id, name, partition_id, schedule, repeats, due_time, ttl, data, failure_policy, created, due, expiration, trace_parent, trace_state, count, last_trigger, attempts, last_result";

    private readonly string _connectionString;
    private readonly SqliteJobStoreOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<WriteOp> _ops = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PendingProgress _pending = new();
    private Action<JobChange> _listener = static _ => { };
    private Task? _writer;
    private FileStream? _directoryLock;
    private List<(long RowId, JobKey Key, long Bytes)>? _keysAtOpen;

    public SqliteJobStore(string dataDirectory, ILogger<SqliteJobStore>? logger = null, SqliteJobStoreOptions? options = null)
    {
        DatabasePath = Path.Combine(Path.GetFullPath(dataDirectory), "scheduler.db");
        _connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = true }.ToString();
        _options = options ?? new SqliteJobStoreOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        // The jobs (their payloads name databases and locations) are private: 0600 in a 0700 directory, made so before
        // SQLite opens the file (its -wal and -shm take the file's mode).
        foreach (var narrowed in Platform.Security.PrivateFiles.PrepareSqliteFile(DatabasePath)) LogPermissionsNarrowed(_logger, narrowed);
    }

    public string DatabasePath { get; }

    public void SetChangeListener(Action<JobChange> listener) => _listener = listener;

    /// <summary>Every job in the file and its data's bytes: what the quotas count.</summary>
    public Limits.StoreUsage Usage { get; } = new();

    public Task OpenAsync(CancellationToken cancellationToken = default)
    {
        // Two engines on one file would both fire every job: the first to open the directory keeps it.
        try
        {
            _directoryLock = new FileStream(DatabasePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"The data directory {Path.GetDirectoryName(DatabasePath)} is in use by another scheduler.", e);
        }
        using (var connection = OpenConnection())
        {
            Execute(connection, """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS jobs(
                  id INTEGER PRIMARY KEY,
                  namespace TEXT NOT NULL, app_id TEXT NOT NULL, name TEXT NOT NULL,
                  partition_id INTEGER NOT NULL,
                  schedule TEXT, repeats INTEGER, due_time TEXT, ttl TEXT,
                  data BLOB, failure_policy BLOB NOT NULL,
                  created INTEGER NOT NULL, due INTEGER, expiration INTEGER,
                  trace_parent TEXT, trace_state TEXT,
                  count INTEGER NOT NULL DEFAULT 0, last_trigger INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
                  last_result INTEGER NOT NULL DEFAULT 0);
                CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON jobs(namespace, app_id, name);
                """);
        }
        using (var reader = new SqliteRowReader(DatabasePath, SqliteRowReader.KeysSql))
        {
            var keys = reader.ReadKeys();
            Usage.Reset(keys.Select(k => (k.Key, k.Bytes, 0L)));
            // Kept for the first load, which takes these keys rather than reading every name a second time.
            _keysAtOpen = keys;
        }
        _writer = Task.Run(WriterLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Keeps <see cref="Usage"/> in step with a committed change.</summary>
    private void CountChange(JobChange change)
    {
        switch (change)
        {
            case JobChange.Put put:
                Usage.Put(put.Job.Key, put.Job.Data?.Length ?? 0, 0);
                break;
            case JobChange.Deleted deleted:
                Usage.Delete(deleted.Key, 0);
                break;
            case JobChange.PrefixDeleted prefix:
                foreach (var name in prefix.Names) Usage.Delete(new JobKey(prefix.Namespace, prefix.AppId, name), 0);
                break;
        }
    }

    private SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, $"PRAGMA synchronous={_options.Synchronous}; PRAGMA busy_timeout=10000;");
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    // ---- awaited writes ----------------------------------------------------------------------------------

    public async Task<bool> PutAsync(StoredJob job, bool overwrite, CancellationToken cancellationToken = default)
    {
        var op = new PutOp(job, overwrite);
        await SubmitAsync(op);
        return op.Stored;
    }

    public Task DeleteAsync(JobKey key, CancellationToken cancellationToken = default) => SubmitAsync(new DeleteOp(key));

    public Task DeleteByPrefixAsync(string @namespace, string appId, string prefix, CancellationToken cancellationToken = default) =>
        SubmitAsync(new PrefixDeleteOp(@namespace, appId, prefix));

    public Task FlushAsync(CancellationToken cancellationToken = default) => SubmitAsync(new FlushOp());

    private Task SubmitAsync(WriteOp op)
    {
        if (!_ops.Writer.TryWrite(op)) throw new ObjectDisposedException(nameof(SqliteJobStore));
        return op.Done.Task;
    }

    // ---- queued writes -----------------------------------------------------------------------------------

    public void EnqueueProgress(in ProgressUpdate update)
    {
        if (_pending.Add(update)) _ops.Writer.TryWrite(new WakeOp());
    }

    public void EnqueueCompletion(long rowId, ulong partitionId)
    {
        if (_pending.Complete(rowId, partitionId)) _ops.Writer.TryWrite(new WakeOp());
    }

    // ---- the writer ----------------------------------------------------------------------------------------

    private async Task WriterLoopAsync()
    {
        using var connection = OpenConnection();
        var commands = new Commands(connection);
        var batch = new List<WriteOp>();
        var changes = new List<JobChange>();
        var reader = _ops.Reader;
        var open = true;
        while (open || batch.Count > 0)
        {
            if (!await reader.WaitToReadAsync())
            {
                open = false;
            }
            else if (reader.TryPeek(out var first) && first is WakeOp)
            {
                // Only queued progress is waiting: let more gather so one commit carries many ticks.
                await Task.Delay(_options.ProgressFlushInterval);
            }

            while (batch.Count < _options.MaxBatch && reader.TryRead(out var op)) batch.Add(op);

            var (progress, completions) = _pending.Take();
            if (batch.Count == 0 && progress.Count == 0 && completions.Count == 0)
            {
                if (!open) break;
                continue;
            }

            try
            {
                using (var tx = connection.BeginTransaction())
                {
                    commands.Enlist(tx);
                    foreach (var op in batch)
                    {
                        try { op.Execute(commands, changes); }
                        catch (SqliteException e) { op.Error = e; }
                    }
                    foreach (var p in progress.Values) commands.Progress(p);
                    var completed = new List<JobKey>();
                    foreach (var (rowId, partition) in completions)
                        if (commands.Complete(rowId, partition) is { } done) completed.Add(done);
                    tx.Commit();
                    foreach (var key in completed) Usage.Delete(key, 0);
                }
                foreach (var change in changes) CountChange(change);
                foreach (var change in changes)
                {
                    try { _listener(change); }
                    catch (Exception e) { LogListenerFailed(_logger, e); }
                }
                foreach (var op in batch)
                {
                    if (op.Error is null) op.Done.TrySetResult();
                    else op.Done.TrySetException(op.Error);
                }
                if (batch.Count > 1 || progress.Count > 0 || completions.Count > 0) LogBatch(_logger, batch.Count, progress.Count, completions.Count);
            }
            catch (Exception e)
            {
                LogCommitFailed(_logger, e, batch.Count);
                foreach (var op in batch) op.Done.TrySetException(e);
                // Progress is not lost: put it back unless newer progress was queued meanwhile.
                _pending.PutBack(progress.Values, completions);
                if (!open) break;
                await Task.Delay(100);
            }
            finally
            {
                batch.Clear();
                changes.Clear();
            }
        }
    }

    private sealed class Commands
    {
        private readonly SqliteCommand _insert, _upsert, _delete, _prefixDelete, _progress, _complete;

        public Commands(SqliteConnection connection)
        {
            const string insert = """
                INSERT INTO jobs(namespace, app_id, name, partition_id, schedule, repeats, due_time, ttl, data, failure_policy,
                                 created, due, expiration, trace_parent, trace_state)
                VALUES($ns, $app, $name, $partition, $schedule, $repeats, $due_time, $ttl, $data, $policy, $created, $due, $expiration, $tp, $ts)
                """;
            _insert = Create(connection, insert + " ON CONFLICT(namespace, app_id, name) DO NOTHING RETURNING id");
            _upsert = Create(connection, insert + """
                 ON CONFLICT(namespace, app_id, name) DO UPDATE SET partition_id=excluded.partition_id, schedule=excluded.schedule,
                   repeats=excluded.repeats, due_time=excluded.due_time, ttl=excluded.ttl, data=excluded.data,
                   failure_policy=excluded.failure_policy, created=excluded.created, due=excluded.due, expiration=excluded.expiration,
                   trace_parent=excluded.trace_parent, trace_state=excluded.trace_state,
                   count=0, last_trigger=NULL, attempts=0, last_result=0
                 RETURNING id
                """);
            foreach (var c in new[] { _insert, _upsert })
                foreach (var p in new[] { "$ns", "$app", "$name", "$partition", "$schedule", "$repeats", "$due_time", "$ttl", "$data", "$policy", "$created", "$due", "$expiration", "$tp", "$ts" })
                    c.Parameters.Add(new SqliteParameter(p, null));
            _delete = Create(connection, "DELETE FROM jobs WHERE namespace=$ns AND app_id=$app AND name=$name", "$ns", "$app", "$name");
            _prefixDelete = Create(connection,
                "DELETE FROM jobs WHERE namespace=$ns AND app_id=$app AND substr(name, 1, length($prefix)) = $prefix RETURNING name",
                "$ns", "$app", "$prefix");
            _progress = Create(connection,
                "UPDATE jobs SET count=$count, last_trigger=$last, attempts=$attempts, last_result=$result WHERE id=$id AND partition_id=$partition",
                "$count", "$last", "$attempts", "$result", "$id", "$partition");
            _complete = Create(connection, "DELETE FROM jobs WHERE id=$id AND partition_id=$partition RETURNING namespace, app_id, name", "$id", "$partition");
        }

        private static SqliteCommand Create(SqliteConnection connection, string sql, params string[] parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var p in parameters) command.Parameters.Add(new SqliteParameter(p, null));
            return command;
        }

        public void Enlist(SqliteTransaction tx)
        {
            foreach (var c in new[] { _insert, _upsert, _delete, _prefixDelete, _progress, _complete }) c.Transaction = tx;
        }

        public bool Put(StoredJob job, bool overwrite)
        {
            var c = overwrite ? _upsert : _insert;
            var p = c.Parameters;
            p[0].Value = job.Key.Namespace;
            p[1].Value = job.Key.AppId;
            p[2].Value = job.Key.Name;
            p[3].Value = unchecked((long)job.PartitionId);
            p[4].Value = (object?)job.Schedule ?? DBNull.Value;
            p[5].Value = job.Repeats is { } r ? (long)r : DBNull.Value;
            p[6].Value = (object?)job.DueTime ?? DBNull.Value;
            p[7].Value = (object?)job.Ttl ?? DBNull.Value;
            p[8].Value = (object?)job.Data ?? DBNull.Value;
            p[9].Value = job.FailurePolicy;
            p[10].Value = job.Created;
            p[11].Value = job.Due == TickCalculator.None ? DBNull.Value : job.Due;
            p[12].Value = job.Expiration == long.MaxValue ? DBNull.Value : job.Expiration;
            p[13].Value = (object?)job.TraceParent ?? DBNull.Value;
            p[14].Value = (object?)job.TraceState ?? DBNull.Value;
            var id = c.ExecuteScalar();
            if (id is null or DBNull) return false;
            job.RowId = (long)id;
            return true;
        }

        public void Delete(JobKey key)
        {
            _delete.Parameters[0].Value = key.Namespace;
            _delete.Parameters[1].Value = key.AppId;
            _delete.Parameters[2].Value = key.Name;
            _delete.ExecuteNonQuery();
        }

        public List<string> DeletePrefix(string ns, string app, string prefix)
        {
            _prefixDelete.Parameters[0].Value = ns;
            _prefixDelete.Parameters[1].Value = app;
            _prefixDelete.Parameters[2].Value = prefix;
            var names = new List<string>();
            using var reader = _prefixDelete.ExecuteReader();
            while (reader.Read()) names.Add(reader.GetString(0));
            return names;
        }

        public void Progress(in ProgressUpdate u)
        {
            var p = _progress.Parameters;
            p[0].Value = (long)u.Progress.Count;
            p[1].Value = u.Progress.LastTrigger == TickCalculator.None ? DBNull.Value : u.Progress.LastTrigger;
            p[2].Value = (long)u.Progress.Attempts;
            p[3].Value = (long)u.Progress.LastResult;
            p[4].Value = u.RowId;
            p[5].Value = unchecked((long)u.PartitionId);
            _progress.ExecuteNonQuery();
        }

        /// <summary>Deletes the finished job unless replaced meanwhile; returns its key when it did.</summary>
        public JobKey? Complete(long rowId, ulong partitionId)
        {
            _complete.Parameters[0].Value = rowId;
            _complete.Parameters[1].Value = unchecked((long)partitionId);
            using var reader = _complete.ExecuteReader();
            return reader.Read() ? new JobKey(reader.GetString(0), reader.GetString(1), reader.GetString(2)) : null;
        }
    }

    private abstract class WriteOp
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Exception? Error { get; set; }
        public abstract void Execute(Commands commands, List<JobChange> changes);
    }

    private sealed class PutOp(StoredJob job, bool overwrite) : WriteOp
    {
        public bool Stored { get; private set; }

        public override void Execute(Commands commands, List<JobChange> changes)
        {
            Stored = commands.Put(job, overwrite);
            if (Stored) changes.Add(new JobChange.Put(job));
        }
    }

    private sealed class DeleteOp(JobKey key) : WriteOp
    {
        public override void Execute(Commands commands, List<JobChange> changes)
        {
            commands.Delete(key);
            changes.Add(new JobChange.Deleted(key));
        }
    }

    private sealed class PrefixDeleteOp(string ns, string app, string prefix) : WriteOp
    {
        public override void Execute(Commands commands, List<JobChange> changes)
        {
            var names = commands.DeletePrefix(ns, app, prefix);
            if (names.Count > 0) changes.Add(new JobChange.PrefixDeleted(ns, app, names));
        }
    }

    /// <summary>Wakes the writer for queued progress; nobody awaits it.</summary>
    private sealed class WakeOp : WriteOp
    {
        public override void Execute(Commands commands, List<JobChange> changes) { }
    }

    private sealed class FlushOp : WriteOp
    {
        public override void Execute(Commands commands, List<JobChange> changes) { }
    }

    // ---- reads (pooled connections, concurrent with the writer thanks to WAL) --------------------------------

    public async Task<StoredJob?> GetAsync(JobKey key, CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE namespace=$ns AND app_id=$app AND name=$name";
        command.Parameters.AddWithValue("$ns", key.Namespace);
        command.Parameters.AddWithValue("$app", key.AppId);
        command.Parameters.AddWithValue("$name", key.Name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadOrPlaceholder(reader) : null;
    }

    public async Task<IReadOnlyList<StoredJob>> ListAsync(string @namespace, string appId, CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE namespace=$ns AND app_id=$app ORDER BY name";
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$app", appId);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredJob>> ListAllAsync(string? @namespace, string? appId, CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE ($ns IS NULL OR namespace=$ns) AND ($app IS NULL OR app_id=$app) ORDER BY namespace, app_id, name";
        command.Parameters.AddWithValue("$ns", string.IsNullOrEmpty(@namespace) ? DBNull.Value : @namespace);
        command.Parameters.AddWithValue("$app", string.IsNullOrEmpty(appId) ? DBNull.Value : appId);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async IAsyncEnumerable<StoredJob> LoadAsync(Func<ulong, bool> owns, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask;
        // Straight through SQLite's C API: 1M rows through SqliteDataReader cost seconds of per-column overhead.
        using var reader = new SqliteRowReader(DatabasePath);
        reader.UseKnownKeys(Interlocked.Exchange(ref _keysAtOpen, null));
        for (var rows = 0; reader.Next(); rows++)
        {
            if ((rows & 4095) == 0) cancellationToken.ThrowIfCancellationRequested();
            if (owns(reader.PartitionId)) yield return reader.ReadOrPlaceholder();
        }
    }

    private SqliteConnection OpenReadConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static async Task<IReadOnlyList<StoredJob>> ReadAllAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var jobs = new List<StoredJob>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) jobs.Add(ReadOrPlaceholder(reader));
        return jobs;
    }

    /// <summary>
    /// The row as a job, or, when a column does not read (a damaged or hand-edited row), a placeholder carrying its
    /// key and <see cref="StoredJob.LoadError"/>, so one bad row neither stops loading nor hides the others.
    /// </summary>
    private static StoredJob ReadOrPlaceholder(SqliteDataReader r)
    {
        try
        {
            return Read(r);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or InvalidOperationException or SqliteException)
        {
            return new StoredJob
            {
                RowId = r.GetInt64(0),
                Key = new JobKey(r.GetValue(1)?.ToString() ?? "", r.GetValue(2)?.ToString() ?? "", r.GetValue(3)?.ToString() ?? ""),
                PartitionId = unchecked((ulong)r.GetInt64(4)),
                FailurePolicy = [],
                Created = 0,
                LoadError = "unreadable stored row: " + e.Message,
            };
        }
    }

    private static StoredJob Read(SqliteDataReader r) => new()
    {
        RowId = r.GetInt64(0),
        Key = new JobKey(r.GetString(1), r.GetString(2), r.GetString(3)),
        PartitionId = unchecked((ulong)r.GetInt64(4)),
        Schedule = r.IsDBNull(5) ? null : r.GetString(5),
        Repeats = r.IsDBNull(6) ? null : (uint)r.GetInt64(6),
        DueTime = r.IsDBNull(7) ? null : r.GetString(7),
        Ttl = r.IsDBNull(8) ? null : r.GetString(8),
        Data = r.IsDBNull(9) ? null : (byte[])r.GetValue(9),
        FailurePolicy = (byte[])r.GetValue(10),
        Created = r.GetInt64(11),
        Due = r.IsDBNull(12) ? TickCalculator.None : r.GetInt64(12),
        Expiration = r.IsDBNull(13) ? long.MaxValue : r.GetInt64(13),
        TraceParent = r.IsDBNull(14) ? null : r.GetString(14),
        TraceState = r.IsDBNull(15) ? null : r.GetString(15),
        Progress = new JobProgress((uint)r.GetInt64(16), r.IsDBNull(17) ? TickCalculator.None : r.GetInt64(17),
            (uint)r.GetInt64(18), (JobResultKind)r.GetInt64(19)),
    };

    public async ValueTask DisposeAsync()
    {
        _ops.Writer.TryComplete();
        if (_writer is not null) await _writer;
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        if (_directoryLock is not null) await _directoryLock.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Committed {Writes} writes, {Progress} progress updates, {Completions} completions")]
    private static partial void LogBatch(ILogger logger, int writes, int progress, int completions);

    [LoggerMessage(Level = LogLevel.Error, Message = "Store commit of {Writes} writes failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int writes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job change listener failed")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Narrowed the permissions of {Path} to its owner alone (it was readable by others)")]
    private static partial void LogPermissionsNarrowed(ILogger logger, string path);
}
