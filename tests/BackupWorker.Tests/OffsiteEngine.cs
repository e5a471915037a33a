using Shared;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Repositories;
using BackupWorker.Restore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BackupWorker.Tests;

/// <summary>
/// A backup engine over a temp data directory with one object repository, <c>offsite</c>, built by the worker's own
/// registration (<c>AddBackupRepositories</c>) against a real object store (<see cref="IOffsiteStore"/>), and a controllable clock.
/// <see cref="UseKey"/> swaps the repository for one with another key (same container), as an operator's mistake would.
/// </summary>
internal sealed class OffsiteEngine : IDisposable
{
    public const string Offsite = "offsite";
    private readonly ServiceProvider _metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly List<ServiceProvider> _repositoryProviders = [];
    private readonly SwitchableRepositories _repositories = new();
    private readonly IOffsiteStore _store;
    private readonly string _container;
    private readonly ClaimOwner _owner;
    private readonly List<ClaimOwner> _peers = [];
    private readonly IDatabaseBackupProvider[] _providers;
    private readonly BackupTelemetry _telemetry;

    public OffsiteEngine(IOffsiteStore store, string container, string compression = "zstd", string? key = null)
    {
        _store = store;
        _container = container;
        Key = key ?? NewKey();
        DataDirectory = Directory.CreateTempSubdirectory("backupworker-offsite-").FullName;
        Options = new BackupOptions { DataDirectory = DataDirectory, CopyRetryInitialDelay = TimeSpan.FromMinutes(10) };
        Demo.DemoDatabase.AddDefault(Options);
        Paths = BackupPaths.From(Options, DataDirectory);
        Catalog = new BackupCatalog(Paths);
        _owner = new ClaimOwner(Paths);
        Copies = new RepositoryCopyCatalog(Paths, _owner);
        var options = Microsoft.Extensions.Options.Options.Create(Options);
        IDatabaseBackupProvider[] providers = _providers = [new SqliteBackupProvider(Paths), new PostgresBackupProvider(options)];
        var telemetry = _telemetry = new BackupTelemetry(_metrics.GetRequiredService<IMeterFactory>());
        Restores = new RestoreCatalog(Paths);
        var postgres = new PostgresTools(options);
        _repositories.Current = Build(compression, Key);
        Sources = new BackupSources(Restores, Copies, _repositories);
        RestoreService = new RestoreService(Catalog, Restores, Paths, options, providers, postgres, telemetry, Time, NullLogger<RestoreService>.Instance, sources: Sources);
        Drills = new DrillService(Restores, RestoreService, options, telemetry, Time, NullLogger<DrillService>.Instance);
        Copier = new RepositoryCopier(Catalog, Copies, _repositories, Paths, options, telemetry, Time, NullLogger<RepositoryCopier>.Instance, Restores);
        Runner = new BackupRunner(Catalog, Paths, options, providers, telemetry, Time, NullLogger<BackupRunner>.Instance, Drills, copier: Copier);
        Retry = new CopyRetryService(Copier, Catalog, options, Time, NullLogger<CopyRetryService>.Instance);
    }

    public string Key { get; }
    public string DataDirectory { get; }
    public BackupOptions Options { get; }
    public BackupPaths Paths { get; }
    public BackupCatalog Catalog { get; }
    public RepositoryCopyCatalog Copies { get; }
    public RestoreCatalog Restores { get; }
    public BackupSources Sources { get; }
    public RestoreService RestoreService { get; }
    public DrillService Drills { get; }
    public RepositoryCopier Copier { get; }
    public BackupRunner Runner { get; }
    public CopyRetryService Retry { get; }
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
    public string RestoreRoot => RestoreService.RestoreRoot;

    public IBackupRepository Repository => _repositories.Current.TryGet(Offsite, out var repo) ? repo : throw new InvalidOperationException();

    public static string NewKey() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>From now on the engine reads and writes <c>offsite</c> with <paramref name="key"/>.</summary>
    public void UseKey(string key) => _repositories.Current = Build("zstd", key);

    private IBackupRepositories Build(string compression, string key)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(_store.Settings(_container)).AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"Backup:Repositories:{Offsite}:Compression"] = compression,
            [$"Backup:Repositories:{Offsite}:EncryptionKey"] = key,
            // A stopped emulator is found out at once, not after the production retries.
            [$"Backup:Repositories:{Offsite}:MaxRetries"] = "0",
            [$"Backup:Repositories:{Offsite}:RequestTimeout"] = "00:00:10",
        }).Build();
        var provider = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration).AddBackupRepositories(configuration).BuildServiceProvider();
        _repositoryProviders.Add(provider);
        return provider.GetRequiredService<IBackupRepositories>();
    }

    /// <summary>A schedule of the demo database naming <c>local</c> and <c>offsite</c>.</summary>
    public ScheduleRecord Schedule(string name, RetentionRule? retention = null) =>
        Catalog.UpsertSchedule(new ScheduleRecord(name, "my-prod-db", name, "@hourly", null, null, null, retention ?? new RetentionRule(null, null), Time.GetUtcNow())
        {
            Repositories = [RepositoryListRules.Local, Offsite],
        });

    public async Task<BackupRun> RunAsync(string schedule)
    {
        var run = await Runner.RunAsync(schedule, new BackupMetadata("my-prod-db", schedule), "job", CancellationToken.None);
        Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
        Time.Advance(TimeSpan.FromMinutes(1));
        return run;
    }

    /// <summary>
    /// A second worker process on the same data directory, catalog and repository (as the demo's two worker replicas):
    /// its own claims, copier, retry service and runner, whose drill hook is <paramref name="afterVerified"/>.
    /// </summary>
    public OffsitePeer AnotherWorker(IVerifiedBackupHook? afterVerified = null)
    {
        var options = Microsoft.Extensions.Options.Options.Create(Options);
        var owner = new ClaimOwner(Paths);
        _peers.Add(owner);
        var copies = new RepositoryCopyCatalog(Paths, owner);
        var copier = new RepositoryCopier(Catalog, copies, _repositories, Paths, options, _telemetry, Time, NullLogger<RepositoryCopier>.Instance, Restores);
        return new OffsitePeer(owner, copies, copier, new CopyRetryService(copier, Catalog, options, Time, NullLogger<CopyRetryService>.Instance),
            new BackupRunner(Catalog, Paths, options, _providers, _telemetry, Time, NullLogger<BackupRunner>.Instance, afterVerified, copier: copier));
    }

    public string SeedDemoDatabase()
    {
        var file = Path.Combine(DataDirectory, "databases", "my-prod-db.db");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        if (!File.Exists(file)) Demo.DemoDatabase.Seed(file);
        return file;
    }

    public void Dispose()
    {
        foreach (var peer in _peers) peer.Dispose();
        _owner.Dispose();
        foreach (var provider in _repositoryProviders) provider.Dispose();
        _metrics.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }

    private sealed class SwitchableRepositories : IBackupRepositories
    {
        public IBackupRepositories Current { get; set; } = null!;

        public IReadOnlyCollection<string> Names => Current.Names;

        public bool TryGet(string name, [MaybeNullWhen(false)] out IBackupRepository repo) => Current.TryGet(name, out repo);
    }
}
