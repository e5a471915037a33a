using System.Diagnostics.Metrics;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Restore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace BackupWorker.Tests;

/// <summary>A backup engine over a temp data directory, with a controllable clock.</summary>
internal sealed class EngineFixture : IDisposable
{
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public EngineFixture(Action<BackupOptions>? configure = null, params IDatabaseBackupProvider[] extraProviders)
    {
        DataDirectory = Directory.CreateTempSubdirectory("backupworker-tests-").FullName;
        Options = new BackupOptions { DataDirectory = DataDirectory };
        Demo.DemoDatabase.AddDefault(Options);
        configure?.Invoke(Options);
        Paths = BackupPaths.From(Options, DataDirectory);
        Catalog = new BackupCatalog(Paths);
        var options = Microsoft.Extensions.Options.Options.Create(Options);
        IDatabaseBackupProvider[] providers = [new SqliteBackupProvider(Paths), new PostgresBackupProvider(options), .. extraProviders];
        var telemetry = Telemetry = new BackupTelemetry(_metrics.GetRequiredService<IMeterFactory>());
        Restores = new RestoreCatalog(Paths);
        var postgres = new PostgresTools(options);
        Limiter = new WorkLimiter(options);
        RestoreService = new RestoreService(Catalog, Restores, Paths, options, providers, postgres, telemetry, Time, NullLogger<RestoreService>.Instance, Limiter);
        Drills = new DrillService(Restores, RestoreService, options, telemetry, Time, NullLogger<DrillService>.Instance, Limiter);
        Runner = new BackupRunner(Catalog, Paths, options, providers, telemetry, Time, Logger, Drills, Limiter);
    }

    public WorkLimiter Limiter { get; }
    public BackupTelemetry Telemetry { get; }
    public RestoreCatalog Restores { get; }
    public RestoreService RestoreService { get; }
    public DrillService Drills { get; }

    /// <summary>The restore root as the worker resolves it (<c>&lt;data&gt;/restores</c> by default).</summary>
    public string RestoreRoot => RestoreService.RestoreRoot;

    public string DataDirectory { get; }
    public CapturingLogger<BackupRunner> Logger { get; } = new();
    /// <summary>The factory of this engine's meters (the scope to collect its measurements by).</summary>
    public IMeterFactory MeterFactory => _metrics.GetRequiredService<IMeterFactory>();
    public BackupOptions Options { get; }
    public BackupPaths Paths { get; }
    public BackupCatalog Catalog { get; }
    public BackupRunner Runner { get; }
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    /// <summary>The embedded database file, seeded.</summary>
    public string SeedDemoDatabase()
    {
        var file = Path.Combine(DataDirectory, "databases", "my-prod-db.db");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        if (!File.Exists(file)) Demo.DemoDatabase.Seed(file);
        return file;
    }

    public void Dispose()
    {
        _metrics.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
