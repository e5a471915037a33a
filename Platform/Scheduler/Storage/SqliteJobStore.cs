using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Platform.Scheduler.Storage;

/// <summary>
/// The embedded store: one SQLite file (<c>&lt;data-dir&gt;/scheduler.db</c>, WAL). All writes go through the
/// <see cref="BatchingJobStore"/> writer, which commits whatever is waiting in a single transaction (group commit), so
/// many concurrent durable ScheduleJob calls share one fsync; queued progress rides along or is flushed on a short interval.
/// </summary>
public sealed partial class SqliteJobStore : BatchingJobStore, Limits.IJobStoreUsage, IDeferredJobData
{
    private readonly string _connectionString;
    private readonly SqliteJobStoreOptions _options;
    private readonly ILogger _logger;
    private readonly List<JobChange> _changes = [];
    private FileStream? _directoryLock;
    // The writer's own connection and statements, open while the writer runs.
    private SqliteConnection? _writerConnection;
    private SqliteCommands? _commands;
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
            Execute(connection, "PRAGMA journal_mode=WAL");
            var moved = SqliteSchema.Prepare(connection);
            if (moved >= 0) LogSchemaUpgraded(_logger, DatabasePath, SqliteSchema.Version, moved);
        }
        lock (_usageGate)
        {
            _uncounted = [];
            _usageCounted = false;
        }
        StartWriter();
        return Task.CompletedTask;
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

    private protected override void WriterStarting()
    {
        _writerConnection = OpenConnection();
        _commands = new SqliteCommands(_writerConnection);
    }

    private protected override void WriterStopped()
    {
        _commands?.Dispose();
        _writerConnection?.Dispose();
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Upgraded {Path} to schema version {Version}; moved the progress of {Jobs} jobs to its own table")]
    private static partial void LogSchemaUpgraded(ILogger logger, string path, int version, int jobs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Store commit of {Writes} writes failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int writes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Narrowed the permissions of {Path} to its owner alone (it was readable by others)")]
    private static partial void LogPermissionsNarrowed(ILogger logger, string path);
}
