using Microsoft.Data.Sqlite;

namespace BackupWorker.Tests;

/// <summary>
/// An application writing into a SQLite file: on its own connection, one committed row at a time (customers with ids
/// <c>firstId</c>, <c>firstId + 1</c>, ... in order) until stopped.
/// </summary>
internal sealed class SqliteLiveRestoreWriter : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];
    private readonly Task<int> _loop;
    private int _count;
    private Exception? _failed;

    public SqliteLiveRestoreWriter(string file, long firstId) =>
        _loop = Task.Factory.StartNew(() => Run(file, firstId), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Rows committed so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Completes once <paramref name="count"/> rows are committed; fails if the writer fails.</summary>
    public Task Committed(int count)
    {
        lock (_waiters)
        {
            if (_failed is not null) return Task.FromException(_failed);
            if (_count >= count) return Task.CompletedTask;
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, reached));
            return reached.Task;
        }
    }

    /// <summary>Stops after the current commit; the number of rows committed.</summary>
    public Task<int> StopAsync()
    {
        _stop.Cancel();
        return _loop;
    }

    private int Run(string file, long firstId)
    {
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
            connection.Open();
            using (var busy = connection.CreateCommand())
            {
                busy.CommandText = "PRAGMA busy_timeout = 30000";
                busy.ExecuteNonQuery();
            }
            while (!_stop.IsCancellationRequested)
            {
                using (var insert = connection.CreateCommand())
                {
                    insert.CommandText = "INSERT INTO customers(id, name, email, created_at) VALUES($id, 'writer', $email, 'now')";
                    insert.Parameters.AddWithValue("$id", firstId + _count);
                    insert.Parameters.AddWithValue("$email", $"writer{_count}@example.com");
                    insert.ExecuteNonQuery();
                }
                lock (_waiters)
                {
                    _count++;
                    foreach (var waiter in _waiters.Where(w => w.Count <= _count).ToList())
                    {
                        waiter.Reached.SetResult();
                        _waiters.Remove(waiter);
                    }
                }
                // An application pauses between transactions; without it SQLite's busy handler, which polls, would
                // seldom find the lock free and the restore would wait out its lock timeout.
                Thread.Sleep(1);
            }
            return _count;
        }
        catch (Exception e)
        {
            lock (_waiters)
            {
                _failed = e;
                foreach (var waiter in _waiters) waiter.Reached.SetException(e);
                _waiters.Clear();
            }
            throw;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
