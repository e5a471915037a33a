using BackupWorker.Backups;
using BackupWorker.Demo;
using BackupWorker.Hosting;
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
    .PostConfigure(DemoDatabase.AddDefault);
builder.Services.AddOptions<DemoOptions>().Bind(builder.Configuration.GetSection(DemoOptions.SectionName));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(sp =>
{
    var backup = sp.GetRequiredService<IOptions<BackupOptions>>().Value;
    return new BackupPaths(backup.DataDirectory, builder.Environment.ContentRootPath, backup.BackupRoot);
});
builder.Services.AddSingleton<BackupCatalog>();
builder.Services.AddSingleton<BackupTelemetry>();
builder.Services.AddSingleton<IDatabaseBackupProvider, SqliteBackupProvider>();
builder.Services.AddSingleton<IDatabaseBackupProvider, PostgresBackupProvider>();
builder.Services.AddSingleton<WorkLimiter>();
builder.Services.AddSingleton<BackupRunner>();
builder.Services.AddSingleton<BackupJobHandler>();
builder.Services.AddSingleton<TriggerTickCatalog>();
builder.Services.AddHttpContextAccessor();
builder.Services.AddSingleton<ScheduleService>();
builder.Services.AddSingleton<RestoreCatalog>();
builder.Services.AddSingleton<PostgresTools>();
builder.Services.AddSingleton<DatabaseManifests>();
builder.Services.AddSingleton<RestoreService>();
builder.Services.AddSingleton<DrillService>();
builder.Services.AddHostedService<DrillRetryService>();
builder.Services.AddSingleton<RestoreQueue>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<RestoreQueue>());
builder.Services.AddDaprJobsClient();
builder.Services.AddHostedService<DemoJobScheduler>();
builder.Services.AddProblemDetails();
builder.Services.AddHealthChecks().AddCheck<CatalogHealthCheck>("catalog");

var app = builder.Build();

// Before the first request or trigger: the catalog exists and the embedded database has its sample rows.
app.Services.GetRequiredService<BackupCatalog>();
app.Services.GetRequiredService<TriggerTickCatalog>();
DemoDatabase.EnsureSeeded(app.Services.GetRequiredService<IOptions<BackupOptions>>(), app.Services.GetRequiredService<BackupPaths>(), app.Logger);
// Temp files of runs a crash interrupted (a live run of another worker on the same directory holds its file's lock).
var backupRoot = app.Services.GetRequiredService<BackupPaths>().BackupRoot;
if (BackupFiles.SweepPartials(backupRoot) is { Count: > 0 } swept) app.Logger.PartialsSwept(swept.Count, backupRoot);

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

public partial class Program;
