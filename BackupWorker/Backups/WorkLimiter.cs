using System.Collections.Concurrent;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Backups;

/// <summary>
/// Bounds the backups and drills running at once: in the whole worker, per database server (many schedules due
/// together must not each open a <c>pg_dump</c> on the production server) and per database. Everyone takes the slots in
/// one order (database, server, worker), so waiters cannot deadlock; whoever must wait is queued, first come first served.
/// </summary>
public sealed class WorkLimiter(IOptions<BackupOptions> options)
{
    private readonly SemaphoreSlim _worker = new(Math.Max(1, options.Value.MaxConcurrentWork));
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _servers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _databases = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Takes the three slots for work on <paramref name="database"/> (on <paramref name="server"/>). Calls
    /// <paramref name="queued"/> once, before waiting, when a slot is not free at once.
    /// </summary>
    public async Task<IDisposable> AcquireAsync(string server, string database, Action? queued, CancellationToken cancellationToken)
    {
        // Narrowest first: a run waiting for its database's turn holds no server or worker slot that other databases need.
        SemaphoreSlim[] gates =
        [
            _databases.GetOrAdd(database, _ => new SemaphoreSlim(Math.Max(1, options.Value.MaxConcurrentPerDatabase))),
            _servers.GetOrAdd(server, _ => new SemaphoreSlim(Math.Max(1, options.Value.MaxConcurrentPerServer))),
            _worker,
        ];
        var held = new List<SemaphoreSlim>(gates.Length);
        try
        {
            foreach (var gate in gates)
            {
                if (!gate.Wait(0))
                {
                    queued?.Invoke();
                    queued = null;
                    await gate.WaitAsync(cancellationToken);
                }
                held.Add(gate);
            }
            return new Slot(held);
        }
        catch
        {
            foreach (var gate in held) gate.Release();
            throw;
        }
    }

    /// <summary>The server a configured database lives on, as the limit counts it: PostgreSQL's host and port; the local disk for files.</summary>
    public static string ServerOf(DatabaseOptions database, string name) =>
        database.Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase) && PostgresServerAddress.From(database.ConnectionString, name) is var pg
            ? $"postgres://{pg.Host ?? "localhost"}:{pg.Port ?? "5432"}"
            : "local";

    private sealed class Slot(List<SemaphoreSlim> held) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            for (var i = held.Count - 1; i >= 0; i--) held[i].Release();
        }
    }
}
