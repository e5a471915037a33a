using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Security;

namespace Platform.Sidecar.Invocation;

/// <summary>
/// Name resolution for service invocation on one machine, modelled on Dapr's self-hosted SQLite resolver: every
/// sidecar writes (app id → its own HTTP address) into one shared SQLite file and refreshes a heartbeat; a lookup
/// picks one live entry at random and ignores stale ones. Static addresses would break as soon as an app has
/// replicas or a sidecar restarts on a new port; heartbeats let entries of crashed sidecars age out on their own.
/// </summary>
public sealed partial class AppRegistry : BackgroundService
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(10);

    private readonly SidecarOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AppRegistry> _logger;
    private readonly string? _connectionString;
    private readonly string _instanceId = Guid.NewGuid().ToString("N");
    private readonly SidecarSecurity _security;

    public AppRegistry(IOptions<SidecarOptions> options, SidecarSecurity security, TimeProvider time, ILogger<AppRegistry> logger)
    {
        _security = security;
        _options = options.Value;
        _time = time;
        _logger = logger;
        if (!string.IsNullOrEmpty(_options.NameResolutionSqlite))
        {
            // Private (0600 in a 0700 directory) before SQLite opens it, whose -wal and -shm take the file's mode.
            foreach (var narrowed in global::Platform.Security.PrivateFiles.PrepareSqliteFile(_options.NameResolutionSqlite)) LogPermissionsNarrowed(_logger, narrowed);
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = Path.GetFullPath(_options.NameResolutionSqlite),
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
                DefaultTimeout = 10,
            }.ToString();
        }
    }

    public bool Enabled => _connectionString is not null;

    /// <summary>The address other sidecars use to reach this one (its internal mTLS port, or without mTLS its HTTP API port,
    /// on loopback or its listen address).</summary>
    public string OwnAddress
    {
        get
        {
            var host = _options.ListenAddresses.FirstOrDefault() ?? "127.0.0.1";
            if (host is "0.0.0.0" or "::" or "[::]" or "*") host = "127.0.0.1";
            host = SidecarOptions.FormatHost(host);
            return _security.InternalAddress(host) ?? $"http://{host}:{_options.DaprHttpPort}";
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;";
        await pragma.ExecuteNonQueryAsync(ct);
        return connection;
    }

    public async Task EnsureSchemaAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS app_instances (
              instance_id  TEXT PRIMARY KEY,
              namespace    TEXT NOT NULL,
              app_id       TEXT NOT NULL,
              address      TEXT NOT NULL,
              heartbeat_ms INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS app_instances_by_app ON app_instances(namespace, app_id);
            """;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    internal async Task HeartbeatAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO app_instances(instance_id, namespace, app_id, address, heartbeat_ms) VALUES ($id, $ns, $app, $addr, $now)
            ON CONFLICT(instance_id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, address = excluded.address;
            DELETE FROM app_instances WHERE heartbeat_ms < $expired;
            """;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        cmd.Parameters.AddWithValue("$id", _instanceId);
        cmd.Parameters.AddWithValue("$ns", _options.Namespace);
        cmd.Parameters.AddWithValue("$app", _options.AppId);
        cmd.Parameters.AddWithValue("$addr", OwnAddress);
        cmd.Parameters.AddWithValue("$now", now);
        // Rows far past staleness belong to sidecars that died without deregistering.
        cmd.Parameters.AddWithValue("$expired", now - (long)(StaleAfter.TotalMilliseconds * 6));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>A live sidecar address for the app id, chosen at random among replicas; null when none is live.</summary>
    public async Task<string?> ResolveAsync(string appId, CancellationToken ct)
    {
        if (!Enabled) return null;
        await using var connection = await OpenAsync(ct);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT address FROM app_instances WHERE namespace = $ns AND app_id = $app AND heartbeat_ms >= $live";
        cmd.Parameters.AddWithValue("$ns", _options.Namespace);
        cmd.Parameters.AddWithValue("$app", appId);
        cmd.Parameters.AddWithValue("$live", _time.GetUtcNow().ToUnixTimeMilliseconds() - (long)StaleAfter.TotalMilliseconds);
        var addresses = new List<string>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) addresses.Add(reader.GetString(0));
        return addresses.Count == 0 ? null : addresses[Random.Shared.Next(addresses.Count)];
    }

    /// <summary>Registers before the API starts listening, so a sidecar that answers healthz can already be found.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled && !string.IsNullOrEmpty(_options.AppId))
        {
            await EnsureSchemaAsync(cancellationToken);
            await HeartbeatAsync(cancellationToken);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled || string.IsNullOrEmpty(_options.AppId)) return;
        try
        {
            using var timer = new PeriodicTimer(HeartbeatInterval, _time);
            do
            {
                try { await HeartbeatAsync(stoppingToken); }
                catch (SqliteException ex) { LogHeartbeatFailed(_logger, ex); }
            } while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!Enabled) return;
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = "DELETE FROM app_instances WHERE instance_id = $id";
            cmd.Parameters.AddWithValue("$id", _instanceId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (SqliteException ex) { LogHeartbeatFailed(_logger, ex); }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Name resolution registry update failed")]
    private static partial void LogHeartbeatFailed(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Narrowed the permissions of {Path} to its owner alone (it was readable by others)")]
    private static partial void LogPermissionsNarrowed(ILogger logger, string path);
}
