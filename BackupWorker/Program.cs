using BackupWorker.Backups;
using BackupWorker.Demo;
using BackupWorker.Hosting;
using BackupWorker.Schedules;
using Microsoft.Extensions.Options;
using Platform.Jobs.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

builder.Services.AddOptions<BackupOptions>().Bind(builder.Configuration.GetSection(BackupOptions.SectionName))
    .PostConfigure(DemoDatabase.AddDefault);
builder.Services.AddOptions<DemoOptions>().Bind(builder.Configuration.GetSection(DemoOptions.SectionName));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton(sp => new BackupPaths(sp.GetRequiredService<IOptions<BackupOptions>>().Value.DataDirectory, builder.Environment.ContentRootPath));
builder.Services.AddSingleton<BackupCatalog>();
builder.Services.AddSingleton<BackupTelemetry>();
builder.Services.AddSingleton<IDatabaseBackupProvider, SqliteBackupProvider>();
builder.Services.AddSingleton<IDatabaseBackupProvider, PostgresBackupProvider>();
builder.Services.AddSingleton<BackupRunner>();
builder.Services.AddSingleton<BackupJobHandler>();
builder.Services.AddSingleton<ScheduleService>();
builder.Services.AddDaprJobsClient();
builder.Services.AddHostedService<DemoJobScheduler>();
builder.Services.AddProblemDetails();
builder.Services.AddHealthChecks().AddCheck<CatalogHealthCheck>("catalog");

var app = builder.Build();

// Before the first request or trigger: the catalog exists and the embedded database has its sample rows.
app.Services.GetRequiredService<BackupCatalog>();
DemoDatabase.EnsureSeeded(app.Services.GetRequiredService<IOptions<BackupOptions>>(), app.Services.GetRequiredService<BackupPaths>(), app.Logger);

app.UseAppApiToken(app.Configuration["APP_API_TOKEN"]);
app.MapDefaultEndpoints();
app.MapWorkerEndpoints();
app.MapDaprScheduledJobHandler(
    (string jobName, ReadOnlyMemory<byte> payload, BackupJobHandler handler, CancellationToken cancellationToken) =>
        handler.HandleAsync(jobName, payload, cancellationToken),
    app.Services.GetRequiredService<IOptions<BackupOptions>>().Value.RunTimeout);

app.Run();

public partial class Program;
