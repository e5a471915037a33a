using Platform.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

var scheduler = builder.AddDaprScheduler("scheduler");

var worker = builder.AddProject<Projects.BackupWorker>("backupworker")
    .WithDaprSidecar(new DaprSidecarOptions { AppId = "backupworker", AppProtocol = "http" })
    .WithHttpHealthCheck("/health")
    .WaitFor(scheduler);

builder.AddProject<Projects.BackupApi>("backupapi")
    .WithDaprSidecar(new DaprSidecarOptions { AppId = "backupapi", AppProtocol = "http" })
    .WithHttpHealthCheck("/health")
    .WithReference(worker)
    .WaitFor(worker);

builder.Build().Run();
