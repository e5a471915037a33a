namespace AppHost.Tests;

/// <summary>Per-app API tokens in the AppHost's model: each app id and its sidecars their own secret pair, replicas sharing it.</summary>
public class DaprTokenModelTests
{
    [Fact]
    public async Task Each_app_id_has_its_own_secret_tokens_and_replicas_share_their_app_ids()
    {
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--AppHost:WorkerReplicas=2", $"--AppHost:DataDirectory={Path.GetTempPath()}", $"--Parameters:backupapi-key={RunningApp.ApiKey}"],
            (options, _) => options.DisableDashboard = true);
        await using var _ = appHost;

        async Task<(ParameterResource Dapr, ParameterResource App)> TokensOf(string resource)
        {
            var context = new EnvironmentCallbackContext(appHost.ExecutionContext, new Dictionary<string, object>());
            foreach (var callback in appHost.Resources.Single(r => r.Name == resource).Annotations.OfType<EnvironmentCallbackAnnotation>())
                await callback.Callback(context);
            var dapr = Assert.IsAssignableFrom<ParameterResource>(context.EnvironmentVariables["DAPR_API_TOKEN"]);
            var app = Assert.IsAssignableFrom<ParameterResource>(context.EnvironmentVariables["APP_API_TOKEN"]);
            Assert.True(dapr.Secret && app.Secret, resource);
            return (dapr, app);
        }

        var api = await TokensOf("backupapi");
        var worker = await TokensOf("backupworker");
        Assert.Equal(api, await TokensOf("backupapi-dapr"));
        Assert.Equal(worker, await TokensOf("backupworker-dapr"));
        Assert.Equal(worker, await TokensOf("backupworker-2"));
        Assert.Equal(worker, await TokensOf("backupworker-2-dapr"));
        Assert.Equal("backupworker-dapr-api-token", worker.Dapr.Name);

        // BackupApi's token opens nothing on the worker's sidecar, and neither app's tokens are another's.
        var values = new List<string>();
        foreach (var parameter in new[] { api.Dapr, api.App, worker.Dapr, worker.App })
            values.Add(await parameter.GetValueAsync(CancellationToken.None) ?? "");
        Assert.Equal(4, values.Distinct().Count());
        Assert.All(values, v => Assert.Matches("^[0-9a-f]{64}$", v));
    }
}
