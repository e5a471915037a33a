using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage;

// The reads: pooled connections, concurrent with the writer thanks to WAL; the start-up load and the data read back per
// trigger through SQLite's C API.
public sealed partial class SqliteJobStore : IPartedLoad
{
    public override async Task<StoredJob?> GetAsync(JobKey key, CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SqliteSchema.JobColumns} FROM {SqliteSchema.JobsWithProgress} WHERE j.namespace=$ns AND j.app_id=$app AND j.name=$name";
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
        command.CommandText = $"SELECT {SqliteSchema.JobColumns} FROM {SqliteSchema.JobsWithProgress} WHERE j.namespace=$ns AND j.app_id=$app ORDER BY j.name";
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$app", appId);
        return await ReadAllAsync(command, cancellationToken);
    }

    public override async Task<IReadOnlyList<StoredJob>> ListAllAsync(string? @namespace, string? appId, CancellationToken cancellationToken = default)
    {
        await using var connection = OpenReadConnection();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SqliteSchema.JobColumns} FROM {SqliteSchema.JobsWithProgress} WHERE ($ns IS NULL OR j.namespace=$ns) AND ($app IS NULL OR j.app_id=$app) ORDER BY j.namespace, j.app_id, j.name";
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
        using var load = LoadInParts(owns, 1, deferData, cancellationToken);
        await foreach (var job in load.Parts[0].WithCancellation(cancellationToken)) yield return job;
    }

    /// <summary>Rows each part of a load reads at least: a thread's start costs more than a smaller part would save.
    /// Tests lower it to split small tables.</summary>
    internal int RowsPerPart { get; init; } = 50_000;

    LoadParts IPartedLoad.LoadInParts(Func<ulong, bool> owns, int parts, bool deferData, int expectedRows, CancellationToken cancellationToken) =>
        LoadInParts(owns, parts, deferData, cancellationToken, expectedRows, refill: true);

    /// <summary>
    /// The rows split by row id into up to <paramref name="parts"/> ranges of about as many ids, each read through a
    /// connection of its own (<see cref="SqliteRowReader"/>). Each part's read begins here, all of them before any commit
    /// can fall between: together they are one read of the store, as the usage count needs.
    /// </summary>
    internal LoadParts LoadInParts(Func<ulong, bool> owns, int parts, bool deferData, CancellationToken cancellationToken, int expectedRows = 0,
        bool refill = false)
    {
        var (first, last) = parts > 1 ? RowIdRange() : (0, 0);
        // The span of row ids bounds the rows (deleted rows leave gaps): parts of a sparse table are only smaller.
        var span = (long)Math.Min((ulong)((Int128)last - first + 1), int.MaxValue);
        var bounds = Bounds(first, last, span < RowsPerPart * 2L ? 1 : (int)Math.Min(parts, span / RowsPerPart));
        var readers = new List<SqliteRowReader>(bounds.Count);
        try
        {
            foreach (var (from, to) in bounds)
                readers.Add(new SqliteRowReader(DatabasePath, SqliteRowReader.RangeSql(from, to)) { DeferData = deferData });
            var more = new bool[readers.Count];
            UsageOfLoad? usage = null;
            lock (_usageGate)
            {
                // The first load counts the usage on its way through every row (see _uncounted).
                if (!_usageCounted) usage = new UsageOfLoad(this, readers.Count, _uncounted!.Count, expectedRows > 0 ? expectedRows : CountRows());
                // The first step begins a read: it sees every commit before it and none after.
                for (var i = 0; i < readers.Count; i++) more[i] = readers[i].Next();
            }
            var enumerations = readers.Select((reader, i) => ReadPart(reader, more[i], owns, usage, refill, cancellationToken)).ToList();
            return new LoadParts(enumerations, readers);
        }
        catch
        {
            foreach (var reader in readers) reader.Dispose();
            throw;
        }
    }

    /// <summary>The lowest and highest row ids (0 for none).</summary>
    private (long First, long Last) RowIdRange()
    {
        using var connection = OpenReadConnection();
        using var command = connection.CreateCommand();
        // Each alone is one step down the table's tree; "min(id), max(id)" together scan it (0.2 s for 1M rows), as count(*) does.
        command.CommandText = "SELECT coalesce((SELECT min(id) FROM jobs), 0), coalesce((SELECT max(id) FROM jobs), 0)";
        using var row = command.ExecuteReader();
        row.Read();
        return (row.GetInt64(0), row.GetInt64(1));
    }

    /// <summary>Row id ranges covering every id, the first from long.MinValue and the last to long.MaxValue.</summary>
    private static List<(long From, long To)> Bounds(long first, long last, int parts)
    {
        var bounds = new List<(long, long)>(parts);
        var from = long.MinValue;
        for (var i = 1; i < parts; i++)
        {
            var to = (long)(first + ((Int128)last - first) * i / parts);
            bounds.Add((from, to));
            from = to + 1;
        }
        bounds.Add((from, long.MaxValue));
        return bounds;
    }

    /// <summary>A part's owned rows; with <paramref name="refill"/>, each read into the one job (see <see cref="IPartedLoad"/>).</summary>
    private static async IAsyncEnumerable<StoredJob> ReadPart(SqliteRowReader reader, bool more, Func<ulong, bool> owns, UsageOfLoad? usage,
        bool refill, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        StoredJob? refilled = null;
        // Counted as the part goes, a batch at a time: no list of every row to keep until the end, nor to count then.
        var counted = usage is null ? null : new (JobKey, long)[UsageOfLoad.Batch];
        var inBatch = 0;
        for (var rows = 0; more; rows++, more = reader.Next())
        {
            if ((rows & 4095) == 0) cancellationToken.ThrowIfCancellationRequested();
            StoredJob? job = null;
            if (owns(reader.PartitionId))
            {
                job = reader.ReadOrPlaceholder(refilled);
                if (refill && job.LoadError is null) refilled = job;
            }
            if (counted is not null)
            {
                counted[inBatch++] = reader.UsageOf(job);
                if (inBatch == counted.Length)
                {
                    usage!.Add(counted);
                    inBatch = 0;
                }
            }
            if (job is not null) yield return job;
        }
        reader.Dispose();
        if (counted is not null)
        {
            usage!.Add(counted.AsSpan(0, inBatch));
            usage.PartRead();
        }
    }

    /// <summary>
    /// The usage count a first load takes on its way, each part adding its rows as it reads them; taken as the store's
    /// once every part has read all of its own (a part abandoned leaves the count to whatever asks for it next).
    /// </summary>
    private sealed class UsageOfLoad(SqliteJobStore store, int parts, int seenByTheRead, int expectedRows)
    {
        public const int Batch = 2048;
        private readonly Limits.StoreUsage _read = new(revisions: false);
        private int _unread = parts;

        public void Add(ReadOnlySpan<(JobKey, long)> rows) => _read.AddRead(rows, expectedRows);

        /// <summary>A part has read all of its rows: the last one takes the count as the store's.</summary>
        public void PartRead()
        {
            lock (store._usageGate)
            {
                if (--_unread > 0 || store._usageCounted) return;
                store.Counted(_read, seenByTheRead);
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
        Progress = r.IsDBNull(16) ? JobProgress.Initial : new JobProgress((uint)r.GetInt64(16), r.IsDBNull(17) ? TickCalculator.None : r.GetInt64(17),
            (uint)r.GetInt64(18), (JobResultKind)r.GetInt64(19)),
    };
}
