using BackupWorker.Backups;
using BackupWorker.Demo;
using BackupWorker.Hosting;
using BackupWorker.Repositories;
using BackupWorker.Restore;
using BackupWorker.Schedules;
using Microsoft.Extensions.Options;
using Platform.Jobs.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

builder.Services.AddOptions<BackupOptions>().Bind(builder.Configuration.GetSection(BackupOptions.SectionName))
    // A database's connection string may come as an Aspire connection string (ConnectionStrings:<database>), which is
    // how the AppHost passes it: a secret parameter, never a plain setting.
    .PostConfigure(o => BackupOptions.AddConnectionStrings(o, builder.Configuration))
    .PostConfigure(DemoDatabase.AddDefault)
    .Validate(o => o.TriggerRetryInterval > TimeSpan.Zero, "Backup:TriggerRetryInterval must be positive.");
builder.Services.AddOptions<DemoOptions>().Bind(builder.Configuration.GetSection(DemoOptions.SectionName));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(sp => BackupPaths.From(sp.GetRequiredService<IOptions<BackupOptions>>().Value, builder.Environment.ContentRootPath));
builder.Services.AddSingleton<BackupCatalog>();
builder.Services.AddBackupRepositories(builder.Configuration);
builder.Services.AddSingleton(sp => WorkerPresence.Enter(sp.GetRequiredService<BackupPaths>()));
builder.Services.AddSingleton<CatalogReconciler>();
builder.Services.AddHostedService<CatalogReconcileService>();
builder.Services.AddSingleton<BackupTelemetry>();
builder.Services.AddSingleton<IDatabaseBackupProvider, SqliteBackupProvider>();
builder.Services.AddSingleton<IDatabaseBackupProvider, PostgresBackupProvider>();
builder.Services.AddSingleton<WorkLimiter>();
builder.Services.AddSingleton<ClaimOwner>();
builder.Services.AddSingleton<RepositoryCopyCatalog>();
builder.Services.AddSingleton<RepositoryCopier>();
builder.Services.AddHostedService<CopyRetryService>();
builder.Services.AddSingleton<BackupSources>();
builder.Services.AddSingleton<BackupRunner>();
builder.Services.AddSingleton<BackupJobHandler>();
builder.Services.AddSingleton<TriggerTickCatalog>();
builder.Services.AddHttpContextAccessor();
builder.Services.AddSingleton<ScheduleService>();
builder.Services.AddHostedService<ScheduleEndWatcher>();
builder.Services.AddSingleton<RestoreCatalog>();
// Backups reads and ends restore records through this (Backups does not know Restore).
builder.Services.AddSingleton<IRestoreRecords>(sp => sp.GetRequiredService<RestoreCatalog>());
builder.Services.AddSingleton<PostgresTools>();
builder.Services.AddSingleton<DatabaseManifests>();
builder.Services.AddSingleton<RestoreService>();
builder.Services.AddSingleton<DrillService>();
// The backup runner hands each verified backup to the drill side through this hook (Backups does not know Restore).
builder.Services.AddSingleton<IVerifiedBackupHook>(sp => sp.GetRequiredService<DrillService>());
builder.Services.AddHostedService<DrillRetryService>();
builder.Services.AddSingleton<RestoreQueue>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<RestoreQueue>());
builder.Services.AddDaprJobsClient();
builder.Services.AddHostedService<DemoJobScheduler>();
builder.Services.AddProblemDetails();
builder.Services.AddHealthChecks().AddCheck<CatalogHealthCheck>("catalog");

var app = builder.Build();

// Roots inside one another would put backups among restores, safety copies or the databases: nothing is written then.
var paths = app.Services.GetRequiredService<BackupPaths>();
if (BackupRoots.FindOverlap(paths.Roots) is { } overlap)
{
    app.Logger.RootsOverlap(overlap);
    await app.DisposeAsync();
    return 1;
}
// Before the first request or trigger: the catalog exists (private), agrees with the files, and the embedded
// database has its sample rows.
foreach (var narrowed in Platform.Security.PrivateFiles.PrepareSqliteFile(paths.CatalogFile)) app.Logger.PermissionsNarrowed(narrowed);
app.Services.GetRequiredService<BackupCatalog>();
app.Services.GetRequiredService<TriggerTickCatalog>();
var presence = app.Services.GetRequiredService<WorkerPresence>();
app.Services.GetRequiredService<CatalogReconciler>().Reconcile(presence.Alone);
DemoDatabase.EnsureSeeded(app.Services.GetRequiredService<IOptions<BackupOptions>>(), paths, app.Logger);
// Temp files of runs, restores and drills a crash interrupted (a live one of another worker holds its file's lock).
foreach (var root in new[] { paths.BackupRoot, paths.RestoreRoot })
    if (BackupFiles.SweepPartials(root, presence.Alone) is { Count: > 0 } swept) app.Logger.PartialsSwept(swept.Count, root);

app.UseAppApiToken(app.Configuration["APP_API_TOKEN"]);
app.MapDefaultEndpoints();
app.MapWorkerEndpoints();
app.MapRestoreEndpoints();
app.MapDaprScheduledJobHandler(
    // The accessor, not HttpContext: Dapr.Jobs binds other parameters from services, so this reads the same there.
    (string jobName, ReadOnlyMemory<byte> payload, BackupJobHandler handler, IHttpContextAccessor http, CancellationToken cancellationToken) =>
        handler.HandleAsync(jobName, payload, ScheduledTickHeader.From(http.HttpContext), cancellationToken),
    app.Services.GetRequiredService<IOptions<BackupOptions>>().Value.RunTimeout);

app.Run();
return 0;

public partial class Program;
