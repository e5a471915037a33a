using AppHost.Offsite;
using Microsoft.Extensions.Configuration;
using Platform.Hosting.Dapr;

var builder = DistributedApplication.CreateBuilder(args);

// One directory holds the run's state: the scheduler's jobs, the worker's catalog, demo database and backups.
var dataDirectory = builder.Configuration["AppHost:DataDirectory"] ?? Path.Combine(builder.AppHostDirectory, ".data");
builder.AddDapr(dapr =>
{
    builder.Configuration.GetSection("Dapr").Bind(dapr); // e.g. --Dapr:EtcdPath=/opt/etcd/etcd
    dapr.DataDirectory = dataDirectory;
});

// One scheduler on its SQLite store, or --Scheduler:Replicas=3: three replicas on a three-member etcd cluster.
var scheduler = builder.AddDaprScheduler("scheduler", SchedulerReplicas());

// Database connection strings (passwords) never travel as plain settings: each database's is an Aspire connection
// string, a secret parameter (masked in the dashboard), given to the workers as ConnectionStrings__<database>.
var databaseConnections = DatabaseConnections();

// The apps run in the AppHost's environment: Development only in a developer's run of the AppHost (its launch
// profile), never because an app's own launch profile says so.
var environmentName = builder.Environment.EnvironmentName;

// Several workers share one app id; the scheduler spreads the triggers over their sidecars (--AppHost:WorkerReplicas=2).
var workerReplicas = builder.Configuration.GetValue("AppHost:WorkerReplicas", 1);
// --AppHost:Offsite=true: repository "offsite" (Azurite, or the account given as ConnectionStrings:offsite).
var offsite = OffsiteRepository.IsEnabled(builder.Configuration)
    ? (Storage: builder.AddOffsiteStorage(dataDirectory), Key: builder.AddOffsiteEncryptionKey())
    : default;
var worker = AddWorker("backupworker");
for (var replica = 2; replica <= workerReplicas; replica++) AddWorker($"backupworker-{replica}");

// The operators' API key: generated once and kept in the AppHost's user secrets, shown (masked) in the dashboard.
var apiKey = builder.AddParameter("backupapi-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

var api = builder.AddProject<Projects.BackupApi>("backupapi")
    .WithDaprSidecar(new DaprSidecarOptions { AppId = "backupapi" })
    .WithEnvironment("BackupApi__ApiKey", apiKey)
    .WithEnvironment("ASPNETCORE_ENVIRONMENT", environmentName)
    .WithHttpHealthCheck("/health")
    .WaitFor(worker);

// Service invocation is denied unless allowed: the worker takes BackupApi's calls, on the routes BackupApi uses.
builder.AllowDaprInvocation("backupworker", "backupapi", WorkerInvocation.UsedByBackupApi);

// "Restore latest into scratch" and "Show restore drills" in the worker's actions menu.
worker.WithRestoreCommands(api, apiKey, builder.Configuration["Demo:Database"] ?? "my-prod-db");

builder.WithoutUnusedHttpsCertificates(); // last: it sees every project added above

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
        .WithEnvironment("ASPNETCORE_ENVIRONMENT", environmentName)
        .WaitFor(scheduler);
    // The worker's settings may be given to the AppHost (appsettings.json, environment, or e.g. --Demo:Schedule="@every 10s"),
    // all but connection strings, which go as the connection-string resources above.
    foreach (var (key, value) in builder.Configuration.GetSection("Demo").AsEnumerable().Concat(builder.Configuration.GetSection("Backup").AsEnumerable()))
        if (value is not null && !IsConnectionStringKey(key)) replica.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
    foreach (var (database, connection) in databaseConnections) replica.WithReference(connection, connectionName: database);
    if (offsite.Storage is not null) replica.WithOffsiteRepository(offsite.Storage, offsite.Key);
    return replica;
}

int SchedulerReplicas()
{
    var text = builder.Configuration["Scheduler:Replicas"];
    if (string.IsNullOrEmpty(text)) return 1;
    return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var replicas)
           && replicas is >= 1 and <= DaprHostingExtensions.MaxSchedulerReplicas
        ? replicas
        : throw new DistributedApplicationException(
            $"Scheduler:Replicas must be 1 (one scheduler) or 2 to {DaprHostingExtensions.MaxSchedulerReplicas} (replicas on an etcd cluster), not '{text}'.");
}

static bool IsConnectionStringKey(string key) =>
    (key.StartsWith("Backup:Databases:", StringComparison.OrdinalIgnoreCase) && key.EndsWith(":ConnectionString", StringComparison.OrdinalIgnoreCase))
    || (key.StartsWith("Backup:Repositories:", StringComparison.OrdinalIgnoreCase) && key.EndsWith(":EncryptionKey", StringComparison.OrdinalIgnoreCase));

// ConnectionStrings:<database> (Aspire's way), or Backup:Databases:<database>:ConnectionString given to the AppHost,
// for each database configured under Backup:Databases.
List<(string Database, IResourceBuilder<IResourceWithConnectionString> Connection)> DatabaseConnections()
{
    var connections = new List<(string, IResourceBuilder<IResourceWithConnectionString>)>();
    foreach (var database in builder.Configuration.GetSection("Backup:Databases").GetChildren())
    {
        var value = builder.Configuration.GetConnectionString(database.Key) ?? database["ConnectionString"];
        if (string.IsNullOrEmpty(value)) continue;
        builder.Configuration[$"ConnectionStrings:{database.Key}"] = value; // where the connection-string resource reads it
        connections.Add((database.Key, builder.AddConnectionString(database.Key)));
    }
    return connections;
}
