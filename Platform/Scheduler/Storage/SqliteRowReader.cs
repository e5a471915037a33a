using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Platform.Scheduler.Schedules;
using SQLitePCL;

namespace Platform.Scheduler.Storage;

/// <summary>
/// Reads every row of the jobs table straight through SQLite's C API on a connection of its own, opened without
/// SQLite's per-call mutex (the connection never leaves this reader's thread). A profile of loading 1M jobs through
/// <see cref="SqliteDataReader"/> spent a third of the load in its per-column bookkeeping (type checks, SafeHandle
/// reference counts) and SQLite's mutex; this reads each column with one call, and a row the engine does not own
/// after two. A row is read as <see cref="SqliteDataReader"/> would read it: integers and text converted by SQLite,
/// a blob column holding anything but a blob (or NULL where allowed) makes the row unreadable.
/// </summary>
internal sealed class SqliteRowReader : IDisposable
{
    /// <summary>Every column (<see cref="SqliteSchema.JobColumns"/>), then the data's length as the usage count reads it
    /// (<see cref="UsageOf"/>); <see cref="PartitionId"/> is read first, to skip rows not owned.</summary>
    public const string JobsSql =
        "SELECT " + SqliteSchema.JobColumns + ", length(j.data) FROM " + SqliteSchema.JobsWithProgress + " ORDER BY j.id";

    /// <summary><see cref="JobsSql"/> for the rows whose ids are from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static string RangeSql(long from, long to) => from == long.MinValue && to == long.MaxValue ? JobsSql
        : JobsSql.Replace(" ORDER BY j.id", FormattableString.Invariant($" WHERE j.id BETWEEN {from} AND {to} ORDER BY j.id"), StringComparison.Ordinal);

    /// <summary>What the store counts at open (see <see cref="ReadKeys"/>).</summary>
    public const string KeysSql = "SELECT id, namespace, app_id, name, length(data) FROM jobs ORDER BY id";

    // Consecutive rows mostly repeat these: the value of the row before is reused when the bytes are the same, so 1M
    // rows of one app do not make 1M copies of its namespace, app id, schedule and failure policy to be collected.
    private Reused<string> _namespace, _appId, _schedule;
    private Reused<byte[]> _policy;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly SqliteColumns _columns;

    public SqliteRowReader(string databasePath, string sql = JobsSql, int busyTimeoutMilliseconds = 10_000)
    {
        (_db, _statement) = SqliteNativeStatement.Open(databasePath, raw.SQLITE_OPEN_READWRITE | raw.SQLITE_OPEN_NOMUTEX, sql, busyTimeoutMilliseconds);
        _columns = new SqliteColumns(_statement);
    }

    /// <summary>Steps to the next row; false at the end. Throws <see cref="SqliteException"/> when SQLite fails.</summary>
    public bool Next()
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc == raw.SQLITE_ROW) return true;
        if (rc == raw.SQLITE_DONE) return false;
        throw SqliteNativeStatement.Error(_db, rc);
    }

    public ulong PartitionId => unchecked((ulong)_columns.Int64(4));

    /// <summary>
    /// The current row as a job, or a placeholder carrying its key and why it could not be read. With
    /// <paramref name="into"/>, a readable row is read into it (see <see cref="StoredJob"/>'s remarks); a placeholder is
    /// always a job of its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public StoredJob ReadOrPlaceholder(StoredJob? into = null)
    {
        try
        {
            return Read(into);
        }
        catch (InvalidDataException e)
        {
            return new StoredJob
            {
                RowId = Int64(0),
                Key = new JobKey(Text(1) ?? "", Text(2) ?? "", Text(3) ?? ""),
                PartitionId = PartitionId,
                FailurePolicy = [],
                Created = 0,
                LoadError = "unreadable stored row: " + e.Message,
            };
        }
    }

    /// <summary>
    /// Every row's key and data size, in row id order (<see cref="KeysSql"/>); a row whose key columns are NULL is
    /// counted with empty strings, as the reader it replaces did.
    /// </summary>
    public List<(long RowId, JobKey Key, long Bytes)> ReadKeys()
    {
        var keys = new List<(long, JobKey, long)>();
        while (Next())
            keys.Add((Int64(0), new JobKey(SharedText(1, ref _namespace) ?? "", SharedText(2, ref _appId) ?? "", Text(3) ?? ""), Int64(4)));
        return keys;
    }

    /// <summary>
    /// The current row as the usage count sees it (<see cref="JobsSql"/> only): its key, with empty strings for NULL key
    /// columns as <see cref="ReadKeys"/> reads them, or <paramref name="loaded"/>'s (the same strings) when the row was
    /// read as a job; and its data's length.
    /// </summary>
    public (JobKey Key, long Bytes) UsageOf(StoredJob? loaded) =>
        (loaded?.Key ?? new JobKey(SharedText(1, ref _namespace) ?? "", SharedText(2, ref _appId) ?? "", Text(3) ?? ""), Int64(20));

    private JobKey Key()
    {
        var ns = SharedText(1, ref _namespace) ?? throw new InvalidDataException("column 1 is NULL");
        var app = SharedText(2, ref _appId) ?? throw new InvalidDataException("column 2 is NULL");
        return new JobKey(ns, app, Required(3));
    }

    private string? SharedText(int column, ref Reused<string> last)
    {
        if (IsNull(column)) return null;
        var bytes = _columns.Bytes(column);
        if (last.Value is not null && bytes.SequenceEqual(last.Bytes)) return last.Value;
        var value = System.Text.Encoding.UTF8.GetString(bytes);
        last = new Reused<string>(bytes.ToArray(), value);
        return value;
    }

    private byte[] SharedBlob(int column, ref Reused<byte[]> last)
    {
        var type = _columns.Type(column);
        if (type != raw.SQLITE_BLOB) throw new InvalidDataException($"column {column} holds {TypeName(type)}, not a blob");
        var bytes = _columns.Bytes(column);
        if (last.Value is not null && bytes.SequenceEqual(last.Bytes)) return last.Value;
        var value = bytes.ToArray();
        last = new Reused<byte[]>(value, value);
        return value;
    }

    private readonly record struct Reused<T>(byte[] Bytes, T Value);

    /// <summary>The current row into <paramref name="into"/> (refilled whole), or into a new job when null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private StoredJob Read(StoredJob? into)
    {
        // Every column is read before the job is touched: a row that does not read leaves nothing half-written.
        var rowId = Int64(0);
        var key = Key();
        var schedule = SharedText(5, ref _schedule);
        uint? repeats = IsNull(6) ? null : (uint)Int64(6);
        var dueTime = Text(7);
        var ttl = Text(8);
        var data = DeferData ? null : Blob(9, nullable: true);
        var dataInStore = DeferData && HoldsBlob(9);
        var policy = SharedBlob(10, ref _policy);
        var created = Int64(11);
        var due = IsNull(12) ? TickCalculator.None : Int64(12);
        var expiration = IsNull(13) ? long.MaxValue : Int64(13);
        var traceParent = Text(14);
        var traceState = Text(15);
        var progress = IsNull(16) ? JobProgress.Initial
            : new JobProgress((uint)Int64(16), IsNull(17) ? TickCalculator.None : Int64(17), (uint)Int64(18), (JobResultKind)Int64(19));
        var job = into ?? new StoredJob { Key = key, PartitionId = PartitionId, FailurePolicy = policy, Created = created };
        job.RowId = rowId;
        job.Key = key;
        job.PartitionId = PartitionId;
        job.Schedule = schedule;
        job.Repeats = repeats;
        job.DueTime = dueTime;
        job.Ttl = ttl;
        job.Data = data;
        job.DataInStore = dataInStore;
        job.FailurePolicy = policy;
        job.Created = created;
        job.Due = due;
        job.Expiration = expiration;
        job.TraceParent = traceParent;
        job.TraceState = traceState;
        job.Progress = progress;
        job.Revision = 0;
        job.LoadError = null;
        return job;
    }

    /// <summary>
    /// Leaves each row's data in the store (see <see cref="IDeferredJobData"/>): the column's type is still checked, so
    /// a row whose data could not be read is a placeholder as before, but its bytes are not copied.
    /// </summary>
    public bool DeferData { get; init; }

    /// <summary>Whether the column holds a blob (false for NULL); throws as <see cref="Blob"/> for any other type.</summary>
    private bool HoldsBlob(int column)
    {
        var type = _columns.Type(column);
        if (type == raw.SQLITE_NULL) return false;
        if (type != raw.SQLITE_BLOB) throw new InvalidDataException($"column {column} holds {TypeName(type)}, not a blob");
        return true;
    }

    private long Int64(int column) => _columns.Int64(column);

    private bool IsNull(int column) => _columns.Type(column) == raw.SQLITE_NULL;

    /// <summary>The column as text (SQLite converts numbers), or null when NULL.</summary>
    private string? Text(int column) =>
        !IsNull(column) && _columns.Text(column, out var text) ? System.Text.Encoding.UTF8.GetString(text) : null;

    private string Required(int column) => Text(column) ?? throw new InvalidDataException($"column {column} is NULL");

    private byte[]? Blob(int column, bool nullable)
    {
        var type = _columns.Type(column);
        if (type == raw.SQLITE_NULL && nullable) return null;
        if (type != raw.SQLITE_BLOB) throw new InvalidDataException($"column {column} holds {TypeName(type)}, not a blob");
        return _columns.Bytes(column).ToArray();
    }

    internal static string TypeName(int type) => type switch
    {
        raw.SQLITE_INTEGER => "an integer",
        raw.SQLITE_FLOAT => "a real",
        raw.SQLITE_TEXT => "text",
        _ => "NULL",
    };

    public void Dispose()
    {
        _statement.Dispose();
        _db.Dispose();
    }
}
