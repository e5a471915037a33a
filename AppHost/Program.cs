using Microsoft.Extensions.Configuration;
using Platform.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

var scheduler = builder.AddDaprScheduler("scheduler");

var worker = builder.AddProject<Projects.BackupWorker>("backupworker")
    .WithDaprSidecar(new DaprSidecarOptions { AppId = "backupworker", AppProtocol = "http" })
    .WithHttpHealthCheck("/health")
    // The worker's catalog, embedded demo database and backups live in the AppHost's one data directory.
    .WithEnvironment("Backup__DataDirectory", Path.Combine(builder.DataDirectory, "backupworker"))
    .WaitFor(scheduler);

// The worker's settings may be given to the AppHost (appsettings.json, environment, or e.g. --Demo:Schedule="@every 10s"):
// the Demo and Backup sections are passed on as Section__Key variables.
foreach (var (key, value) in builder.Configuration.GetSection("Demo").AsEnumerable().Concat(builder.Configuration.GetSection("Backup").AsEnumerable()))
    if (value is not null) worker.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);

// Several workers share one app id; the scheduler spreads the triggers over their sidecars (--AppHost:WorkerReplicas=2).
if (builder.Configuration.GetValue<int?>("AppHost:WorkerReplicas") is { } replicas) worker.WithReplicas(replicas);

builder.AddProject<Projects.BackupApi>("backupapi")
    .WithDaprSidecar(new DaprSidecarOptions { AppId = "backupapi", AppProtocol = "http" })
    .WithHttpHealthCheck("/health")
    .WithReference(worker)
    .WaitFor(worker);

builder.Build().Run();
