using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage;

// The reads: pooled connections, concurrent with the writer thanks to WAL; the start-up load and the data read back per
// trigger through SQLite's C API.
public sealed partial class SqliteJobStore
{
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
}
