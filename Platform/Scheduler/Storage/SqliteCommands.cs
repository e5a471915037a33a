using Microsoft.Data.Sqlite;
using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage;

/// <summary>The SQLite writer's prepared statements, on its own connection, enlisted in each batch's transaction.</summary>
internal sealed class SqliteCommands : IDisposable
{
    private readonly SqliteCommand _insert, _upsert, _delete, _prefixDelete, _complete;
    private readonly SqliteProgressStatement _progress;

    public SqliteCommands(SqliteConnection connection)
    {
        const string insert = """
            INSERT INTO jobs(namespace, app_id, name, partition_id, schedule, repeats, due_time, ttl, data, failure_policy,
                             created, due, expiration, trace_parent, trace_state)
            VALUES($ns, $app, $name, $partition, $schedule, $repeats, $due_time, $ttl, $data, $policy, $created, $due, $expiration, $tp, $ts)
            """;
        _insert = Create(connection, insert + " ON CONFLICT(namespace, app_id, name) DO NOTHING RETURNING id");
        // A replaced job starts from no progress: the schema's jobs_replaced trigger deletes its row.
        _upsert = Create(connection, insert + """
             ON CONFLICT(namespace, app_id, name) DO UPDATE SET partition_id=excluded.partition_id, schedule=excluded.schedule,
               repeats=excluded.repeats, due_time=excluded.due_time, ttl=excluded.ttl, data=excluded.data,
               failure_policy=excluded.failure_policy, created=excluded.created, due=excluded.due, expiration=excluded.expiration,
               trace_parent=excluded.trace_parent, trace_state=excluded.trace_state
             RETURNING id
            """);
        foreach (var c in new[] { _insert, _upsert })
            foreach (var p in new[] { "$ns", "$app", "$name", "$partition", "$schedule", "$repeats", "$due_time", "$ttl", "$data", "$policy", "$created", "$due", "$expiration", "$tp", "$ts" })
                c.Parameters.Add(new SqliteParameter(p, null));
        _delete = Create(connection, "DELETE FROM jobs WHERE namespace=$ns AND app_id=$app AND name=$name", "$ns", "$app", "$name");
        _prefixDelete = Create(connection,
            "DELETE FROM jobs WHERE namespace=$ns AND app_id=$app AND substr(name, 1, length($prefix)) = $prefix RETURNING name",
            "$ns", "$app", "$prefix");
        _progress = new SqliteProgressStatement(connection);
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
        foreach (var c in new[] { _insert, _upsert, _delete, _prefixDelete, _complete }) c.Transaction = tx;
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

    public void Progress(in ProgressUpdate u) => _progress.Write(u);

    /// <summary>Deletes the finished job unless replaced meanwhile; returns its key when it did.</summary>
    public JobKey? Complete(long rowId, ulong partitionId)
    {
        _complete.Parameters[0].Value = rowId;
        _complete.Parameters[1].Value = unchecked((long)partitionId);
        using var reader = _complete.ExecuteReader();
        return reader.Read() ? new JobKey(reader.GetString(0), reader.GetString(1), reader.GetString(2)) : null;
    }

    /// <summary>Finalizes what is prepared outside the connection's own bookkeeping, before the connection closes.</summary>
    public void Dispose() => _progress.Dispose();
}
