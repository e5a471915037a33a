using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Invocation;
using Platform.Sidecar.Security;

namespace Platform.Sidecar.Tests;

public sealed class AppRegistryTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"registry-unit-{Guid.NewGuid():N}.db");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    private AppRegistry Registry(string appId, int httpPort, string ns = "default")
    {
        var options = new SidecarOptions { AppId = appId, DaprHttpPort = httpPort, Namespace = ns, NameResolutionSqlite = _file };
        return new(Options.Create(options), Security.SidecarSecurity.Create(options), _time, NullLogger<AppRegistry>.Instance);
    }

    [Fact]
    public async Task Live_replicas_are_picked_at_random_and_stale_entries_are_ignored()
    {
        var replica1 = Registry("worker", 1001);
        var replica2 = Registry("worker", 1002);
        var otherNamespace = Registry("worker", 1003, "other");
        var caller = Registry("api", 2000);
        await caller.EnsureSchemaAsync(CancellationToken.None);
        await replica1.HeartbeatAsync(CancellationToken.None);
        await replica2.HeartbeatAsync(CancellationToken.None);
        await otherNamespace.HeartbeatAsync(CancellationToken.None);

        var seen = new HashSet<string?>();
        for (var i = 0; i < 200 && seen.Count < 2; i++) seen.Add(await caller.ResolveAsync("worker", CancellationToken.None));
        Assert.Equal(new HashSet<string?> { "http://127.0.0.1:1001", "http://127.0.0.1:1002" }, seen);
        Assert.Null(await caller.ResolveAsync("nobody", CancellationToken.None));

        // replica2 keeps its heartbeat, replica1 stops (crashed): after the stale window only replica2 is found.
        _time.Advance(AppRegistry.StaleAfter - TimeSpan.FromSeconds(1));
        await replica2.HeartbeatAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(2));
        for (var i = 0; i < 20; i++) Assert.Equal("http://127.0.0.1:1002", await caller.ResolveAsync("worker", CancellationToken.None));

        _time.Advance(AppRegistry.StaleAfter);
        Assert.Null(await caller.ResolveAsync("worker", CancellationToken.None));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in new[] { _file, _file + "-wal", _file + "-shm" })
            try { File.Delete(f); } catch (IOException) { }
    }
}
