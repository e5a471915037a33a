using Microsoft.Extensions.Configuration;
using Platform.Hosting.Dapr;

var builder = DistributedApplication.CreateBuilder(args);

// One directory holds the run's state: the scheduler's jobs, the worker's catalog, demo database and backups.
var dataDirectory = builder.Configuration["AppHost:DataDirectory"] ?? Path.Combine(builder.AppHostDirectory, ".data");
builder.AddDapr(dapr => dapr.DataDirectory = dataDirectory);

var scheduler = builder.AddDaprScheduler("scheduler");

// Several workers share one app id; the scheduler spreads the triggers over their sidecars (--AppHost:WorkerReplicas=2).
var workerReplicas = builder.Configuration.GetValue("AppHost:WorkerReplicas", 1);
var worker = AddWorker("backupworker");
for (var replica = 2; replica <= workerReplicas; replica++) AddWorker($"backupworker-{replica}");

// The operators' API key: generated once and kept in the AppHost's user secrets, shown (masked) in the dashboard.
var apiKey = builder.AddParameter("backupapi-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

var api = builder.AddProject<Projects.BackupApi>("backupapi")
    .WithDaprSidecar(new DaprSidecarOptions { AppId = "backupapi" })
    .WithEnvironment("BackupApi__ApiKey", apiKey)
    .WithHttpHealthCheck("/health")
    .WaitFor(worker);

// "Restore latest into scratch" and "Show restore drills" in the worker's actions menu.
worker.WithRestoreCommands(api, apiKey, builder.Configuration["Demo:Database"] ?? "my-prod-db");

builder.Build().Run();

IResourceBuilder<ProjectResource> AddWorker(string name)
{
    var replica = builder.AddProject<Projects.BackupWorker>(name)
        // While the worker is down its sidecar closes its job streams, so the scheduler holds the triggers for it.
        .WithDaprSidecar(new DaprSidecarOptions
        {
            AppId = "backupworker",
            EnableAppHealthCheck = true,
            AppHealthCheckPath = "/health",
            AppHealthProbeInterval = 1,
            AppHealthThreshold = 2,
        })
        .WithHttpHealthCheck("/health")
        .WithEnvironment("Backup__DataDirectory", Path.Combine(dataDirectory, "backupworker"))
        .WaitFor(scheduler);
    // The worker's settings may be given to the AppHost (appsettings.json, environment, or e.g. --Demo:Schedule="@every 10s").
    foreach (var (key, value) in builder.Configuration.GetSection("Demo").AsEnumerable().Concat(builder.Configuration.GetSection("Backup").AsEnumerable()))
        if (value is not null) replica.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
    return replica;
}
