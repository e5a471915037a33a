using Microsoft.Extensions.DependencyInjection;
using Platform.Security;
using Platform.Sidecar.AccessControl;

namespace AppHost.Tests;

/// <summary>
/// The Configuration the AppHost writes for each app id, evaluated by the sidecar's own access control: BackupWorker
/// admits BackupApi on the routes its WorkerClient calls and nothing else, and no one else at all; BackupApi admits
/// no call.
/// </summary>
public class WorkerAccessControlTests
{
    private static readonly SpiffeId Api = new("public", "default", "backupapi");

    // BackupApi/WorkerClient*.cs: every call it makes.
    public static TheoryData<string, string> UsedByBackupApi => new()
    {
        { "POST", "schedules" }, { "GET", "schedules" }, { "GET", "schedules/nightly" }, { "DELETE", "schedules/nightly" },
        { "POST", "schedules/nightly/run" }, { "GET", "backups" }, { "GET", "runs" }, { "POST", "restores" }, { "GET", "restores" },
        { "GET", "restores/r1" }, { "GET", "drills" }, { "GET", "drills/d1" }, { "GET", "backups/b1" }, { "POST", "backups/b1/drill" },
        { "PUT", "schedules/nightly/drill" }, { "GET", "schedules/nightly/drill" },
    };

    public static TheoryData<string, string> NotUsed => new()
    {
        { "POST", "job/prod-db-backup" }, { "GET", "health" }, { "DELETE", "restores/r1" }, { "DELETE", "backups/b1" },
        { "PUT", "schedules/nightly" }, { "GET", "openapi/v1.json" }, { "POST", "runs" }, { "GET", "restores/r1/x/y" },
    };

    // One model for the class: the AppHost's Program runs once.
    private static readonly Lazy<Task<Dictionary<string, AccessControlList>>> Configurations = new(async () =>
    {
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [$"--AppHost:DataDirectory={Path.GetTempPath()}", $"--Parameters:backupapi-key={RunningApp.ApiKey}"],
            (options, _) => options.DisableDashboard = true);
        await using var _ = appHost;
        var access = (Platform.Hosting.Dapr.DaprAccessControl)appHost.Services.Single(d => d.ServiceType == typeof(Platform.Hosting.Dapr.DaprAccessControl)).ImplementationInstance!;
        return new[] { "backupworker", "backupapi" }.ToDictionary(id => id,
            id => ConfigurationLoader.Parse(Platform.Hosting.Dapr.DaprConfigurationFile.Render(id, "public", access.CallersOf(id)), id, appIsHttp: true)!);
    });

    private static async Task<AccessControlList> ConfigurationOfAsync(string appId) => (await Configurations.Value)[appId];

    [Theory]
    [MemberData(nameof(UsedByBackupApi))]
    public async Task The_worker_admits_backupapi_on_each_route_it_uses(string verb, string route)
    {
        var acl = await ConfigurationOfAsync("backupworker");
        Assert.True(acl.IsAllowed(Api, route, verb), $"{verb} /{route}");
        Assert.False(acl.IsAllowed(new SpiffeId("public", "default", "intruder"), route, verb));
        Assert.False(acl.IsAllowed(null, route, verb));
    }

    [Theory]
    [MemberData(nameof(NotUsed))]
    public async Task The_worker_refuses_backupapi_any_other_route(string verb, string route) =>
        Assert.False((await ConfigurationOfAsync("backupworker")).IsAllowed(Api, route, verb), $"{verb} /{route}");

    [Fact]
    public async Task Backupapi_admits_no_call()
    {
        var acl = await ConfigurationOfAsync("backupapi");
        Assert.False(acl.IsAllowed(new SpiffeId("public", "default", "backupworker"), "schedules", "GET"));
        Assert.False(acl.IsAllowed(Api, "schedules", "GET"));
    }
}
