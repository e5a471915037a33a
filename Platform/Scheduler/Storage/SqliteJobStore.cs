using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage;

/// <summary>
/// The embedded store: one SQLite file (<c>&lt;data-dir&gt;/scheduler.db</c>, WAL). All writes go through the
/// <see cref="BatchingJobStore"/> writer, which commits whatever is waiting in a single transaction (group commit), so
/// many concurrent durable ScheduleJob calls share one fsync; queued progress rides along or is flushed on a short interval.
/// </summary>
public sealed partial class SqliteJobStore : BatchingJobStore, Limits.IJobStoreUsage, IDeferredJobData
{
    private const string Columns =
        "id, namespace, app_id, name, partition_id, schedule, repeats, due_time, ttl, data, failure_policy, created, due, expiration, trace_parent, trace_state, count, last_trigger, attempts, last_result";

    private readonly string _connectionString;
    private readonly SqliteJobStoreOptions _options;
    private readonly ILogger _logger;
    private readonly List<JobChange> _changes = [];
    private FileStream? _directoryLock;
    // The writer's own connection and statements, open while the writer runs.
    private SqliteConnection? _writerConnection;
    private SqliteCommands? _commands;
    // The usage count is taken by the first load that reads every row (one pass over 1M rows rather than two), or by a
    // scan of its own when something asks for it first. Until then the writer commits under _usageGate and keeps what
    // it commits in _uncounted, so the count can add exactly the changes its read did not see.
    private readonly Limits.StoreUsage _usage = new();
    private readonly object _usageGate = new();
    private List<JobChange>? _uncounted;
    private volatile bool _usageCounted = true;
    private const int MaxUncounted = 10_000;
    private SqliteDataLookup? _dataLookup;
    private volatile bool _disposed;

    public SqliteJobStore(string dataDirectory, ILogger<SqliteJobStore>? logger = null, SqliteJobStoreOptions? options = null)
        : this(dataDirectory, (ILogger?)logger ?? NullLogger.Instance, options ?? new SqliteJobStoreOptions())
    {
    }

    private SqliteJobStore(string dataDirectory, ILogger logger, SqliteJobStoreOptions options)
        : base(logger, TimeProvider.System, options.ProgressFlushInterval, options.MaxBatch, refuseBeforeOpen: false)
    {
        DatabasePath = Path.Combine(Path.GetFullPath(dataDirectory), "scheduler.db");
        _connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = true }.ToString();
        _options = options;
        _logger = logger;
        // The jobs (their payloads name databases and locations) are private: 0600 in a 0700 directory, made so before
        // SQLite opens the file (its -wal and -shm take the file's mode).
        foreach (var narrowed in Platform.Security.PrivateFiles.PrepareSqliteFile(DatabasePath)) LogPermissionsNarrowed(_logger, narrowed);
    }

    public string DatabasePath { get; }

    /// <summary>Every job in the file and its data's bytes: what the quotas count.</summary>
    public Limits.StoreUsage Usage
    {
        get
        {
            if (!_usageCounted) CountUsage();
            return _usage;
        }
    }

    int Limits.IJobStoreUsage.StoredJobs => _usageCounted ? _usage.Total.Count : CountRows();

    public override Task OpenAsync(CancellationToken cancellationToken = default)
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
        lock (_usageGate)
        {
            _uncounted = [];
            _usageCounted = false;
        }
        StartWriter();
        return Task.CompletedTask;
    }

    /// <summary>Keeps the usage count in step with a committed change (under <see cref="_usageGate"/> until it is counted).</summary>
    private void CountChange(JobChange change)
    {
        if (!_usageCounted)
        {
            _uncounted!.Add(change);
            return;
        }
        switch (change)
        {
            case JobChange.Put put:
                _usage.Put(put.Job.Key, put.Job.Data?.Length ?? 0, 0);
                break;
            case JobChange.Deleted deleted:
                _usage.Delete(deleted.Key, 0);
                break;
            case JobChange.PrefixDeleted prefix:
                foreach (var name in prefix.Names) _usage.Delete(new JobKey(prefix.Namespace, prefix.AppId, name), 0);
                break;
        }
    }

    /// <summary>Counts every job with a read of its own, unless a load has counted them meanwhile.</summary>
    private void CountUsage()
    {
        // The writer commits under the gate until the count is taken: no commit falls between this read and the count.
        lock (_usageGate)
        {
            if (_usageCounted) return;
            using var reader = new SqliteRowReader(DatabasePath, SqliteRowReader.KeysSql);
            Counted(reader.ReadKeys().Select(k => (k.Key, k.Bytes)), seenByTheRead: _uncounted!.Count);
        }
    }

    /// <summary>
    /// Takes <paramref name="jobs"/> (what one read found) as the usage count, then the changes committed after that
    /// read began (those after the first <paramref name="seenByTheRead"/> of <see cref="_uncounted"/>); under the gate.
    /// </summary>
    private void Counted(IEnumerable<(JobKey Key, long Bytes)> jobs, int seenByTheRead)
    {
        _usage.Reset(jobs.Select(j => (j.Key, j.Bytes, 0L)));
        var later = _uncounted!.Skip(seenByTheRead).ToList();
        _uncounted = null;
        _usageCounted = true;
        foreach (var change in later) CountChange(change);
    }

    private int CountRows()
    {
        using var connection = OpenReadConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM jobs";
        return (int)(long)command.ExecuteScalar()!;
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

    // ---- the writer's batches ------------------------------------------------------------------------------

    private protected override void WriterStarting()
    {
        _writerConnection = OpenConnection();
        _commands = new SqliteCommands(_writerConnection);
    }

    private protected override void WriterStopped() => _writerConnection?.Dispose();

    private protected override Task CommitAsync(List<WriteOp> batch, Dictionary<long, ProgressUpdate> progress,
        List<(long RowId, ulong PartitionId)> completions)
    {
        var commands = _commands!;
        _changes.Clear();
        // Until the usage is counted, a commit and its record in _uncounted are one step for the count's read.
        var counting = !_usageCounted;
        if (counting) Monitor.Enter(_usageGate);
        try
        {
        using (var tx = _writerConnection!.BeginTransaction())
        {
            commands.Enlist(tx);
            foreach (var op in batch)
            {
                try { Execute(op, commands, _changes); }
                catch (SqliteException e) { op.Error = e; }
            }
            foreach (var p in progress.Values) commands.Progress(p);
            var completed = new List<JobKey>();
            foreach (var (rowId, partition) in completions)
                if (commands.Complete(rowId, partition) is { } done) completed.Add(done);
            tx.Commit();
            foreach (var key in completed) CountChange(new JobChange.Deleted(key));
        }
        foreach (var change in _changes) CountChange(change);
        // Nothing counted yet and no load under way to count it: the kept changes must not grow without end.
        if (!_usageCounted && _uncounted!.Count > MaxUncounted) CountUsage();
        }
        finally
        {
            if (counting) Monitor.Exit(_usageGate);
        }
        Report(_changes);
        foreach (var op in batch)
        {
            if (op.Error is null) op.Done.TrySetResult();
            else op.Done.TrySetException(op.Error);
        }
        if (batch.Count > 1 || progress.Count > 0 || completions.Count > 0) LogBatch(_logger, batch.Count, progress.Count, completions.Count);
        return Task.CompletedTask;
    }

    private static void Execute(WriteOp op, SqliteCommands commands, List<JobChange> changes)
    {
        switch (op)
        {
            case PutOp put:
                put.Stored = commands.Put(put.Job, put.Overwrite);
                if (put.Stored) changes.Add(new JobChange.Put(put.Job));
                break;
            case DeleteOp delete:
                commands.Delete(delete.Key);
                changes.Add(new JobChange.Deleted(delete.Key));
                break;
            case PrefixDeleteOp prefix:
                var names = commands.DeletePrefix(prefix.Namespace, prefix.AppId, prefix.Prefix);
                if (names.Count > 0) changes.Add(new JobChange.PrefixDeleted(prefix.Namespace, prefix.AppId, names));
                break;
        }
    }

    private protected override async Task<bool> RecoverAsync(List<WriteOp> batch, Dictionary<long, ProgressUpdate> progress,
        List<(long RowId, ulong PartitionId)> completions, Exception error, bool open)
    {
        LogCommitFailed(_logger, error, batch.Count);
        foreach (var op in batch) op.Done.TrySetException(error);
        batch.Clear();
        // Progress is not lost: put it back unless newer progress was queued meanwhile.
        PutBack(progress.Values, completions);
        if (!open) return false;
        await Task.Delay(100);
        return true;
    }

    // ---- reads (pooled connections, concurrent with the writer thanks to WAL) --------------------------------

    public override async Task<StoredJob?> GetAsync(JobKey key, CancellationToken cancellationToken = default)
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

    public override async Task<IReadOnlyList<StoredJob>> ListAsync(string @namespace, string appId, CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE namespace=$ns AND app_id=$app ORDER BY name";
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$app", appId);
        return await ReadAllAsync(command, cancellationToken);
    }

    public override async Task<IReadOnlyList<StoredJob>> ListAllAsync(string? @namespace, string? appId, CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM jobs WHERE ($ns IS NULL OR namespace=$ns) AND ($app IS NULL OR app_id=$app) ORDER BY namespace, app_id, name";
        command.Parameters.AddWithValue("$ns", string.IsNullOrEmpty(@namespace) ? DBNull.Value : @namespace);
        command.Parameters.AddWithValue("$app", string.IsNullOrEmpty(appId) ? DBNull.Value : appId);
        return await ReadAllAsync(command, cancellationToken);
    }

    public override IAsyncEnumerable<StoredJob> LoadAsync(Func<ulong, bool> owns, CancellationToken cancellationToken = default) =>
        LoadAsync(owns, deferData: false, cancellationToken);

    public IAsyncEnumerable<StoredJob> LoadWithoutDataAsync(Func<ulong, bool> owns, CancellationToken cancellationToken = default) =>
        LoadAsync(owns, deferData: true, cancellationToken);

    public bool TryReadData(long rowId, ulong partitionId, out byte[]? data)
    {
        var lookup = Volatile.Read(ref _dataLookup);
        if (lookup is null)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var opened = new SqliteDataLookup(DatabasePath);
            lookup = Interlocked.CompareExchange(ref _dataLookup, opened, null) ?? opened;
            if (!ReferenceEquals(lookup, opened)) opened.Dispose();
        }
        return lookup.TryRead(rowId, partitionId, out data);
    }

    private async IAsyncEnumerable<StoredJob> LoadAsync(Func<ulong, bool> owns, bool deferData, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        // Straight through SQLite's C API: 1M rows through SqliteDataReader cost seconds of per-column overhead.
        using var reader = new SqliteRowReader(DatabasePath) { DeferData = deferData };
        // The first load counts the usage on its way through every row (see _uncounted).
        List<(JobKey, long)>? counted = null;
        int seenByTheRead = 0;
        bool more;
        lock (_usageGate)
        {
            if (!_usageCounted)
            {
                counted = new List<(JobKey, long)>(Math.Max(16, CountRows()));
                seenByTheRead = _uncounted!.Count;
            }
            // The first step begins the read: it sees every commit before it and none after.
            more = reader.Next();
        }
        for (var rows = 0; more; rows++, more = reader.Next())
        {
            if ((rows & 4095) == 0) cancellationToken.ThrowIfCancellationRequested();
            StoredJob? job = null;
            if (owns(reader.PartitionId))
            {
                job = reader.ReadOrPlaceholder();
                counted?.Add(reader.UsageOf(job));
                yield return job;
            }
            else counted?.Add(reader.UsageOf(null));
        }
        if (counted is not null)
        {
            lock (_usageGate)
            {
                if (!_usageCounted) Counted(counted, seenByTheRead);
            }
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

    public override async ValueTask DisposeAsync()
    {
        await StopWriterAsync();
        _disposed = true;
        Interlocked.Exchange(ref _dataLookup, null)?.Dispose();
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        if (_directoryLock is not null) await _directoryLock.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Committed {Writes} writes, {Progress} progress updates, {Completions} completions")]
    private static partial void LogBatch(ILogger logger, int writes, int progress, int completions);

    [LoggerMessage(Level = LogLevel.Error, Message = "Store commit of {Writes} writes failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int writes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Narrowed the permissions of {Path} to its owner alone (it was readable by others)")]
    private static partial void LogPermissionsNarrowed(ILogger logger, string path);
}
