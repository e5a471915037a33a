using AppHost.Offsite;

namespace AppHost.Tests;

/// <summary>
/// --AppHost:Offsite in the AppHost's model, read without starting anything: off by default (nothing new), on with
/// Azurite, or on with an operator's storage account instead.
/// </summary>
public class OffsiteModelTests
{
    private const string EncryptionKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    private const string AccountConnection = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0LWFjY291bnQta2V5;EndpointSuffix=core.windows.net";

    private static async Task<(IDistributedApplicationTestingBuilder AppHost, Dictionary<string, object> Worker)> ModelAsync(params string[] args)
    {
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [.. args, $"--AppHost:DataDirectory={Path.GetTempPath()}", $"--Parameters:backupapi-key={RunningApp.ApiKey}",
                $"--Parameters:offsite-encryption-key={EncryptionKey}"],
            (options, _) => options.DisableDashboard = true);
        var context = new EnvironmentCallbackContext(appHost.ExecutionContext, new Dictionary<string, object>());
        foreach (var callback in appHost.Resources.Single(r => r.Name == "backupworker").Annotations.OfType<EnvironmentCallbackAnnotation>())
            await callback.Callback(context);
        return (appHost, context.EnvironmentVariables);
    }

    [Fact]
    public async Task By_default_there_is_no_offsite_repository_and_nothing_new_runs()
    {
        var (appHost, worker) = await ModelAsync();
        await using var _ = appHost;

        Assert.DoesNotContain(appHost.Resources, r => r.Name is "offsite" or "offsite-encryption-key");
        Assert.DoesNotContain(worker.Keys, k => k.Contains("offsite", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task The_flag_runs_a_health_checked_azurite_under_the_data_directory_and_hands_the_worker_the_repository()
    {
        var (appHost, worker) = await ModelAsync("--AppHost:Offsite=true");
        await using var _ = appHost;

        var azurite = Assert.IsType<AzuriteResource>(appHost.Resources.Single(r => r.Name == "offsite"));
        Assert.Contains(azurite.Annotations, a => a is HealthCheckAnnotation);
        var args = new List<object>();
        foreach (var callback in azurite.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
            await callback.Callback(new CommandLineArgsCallbackContext(args));
        Assert.Contains("--skipApiVersionCheck", args);
        // Nothing of a run leaves the machine.
        Assert.Contains("--disableTelemetry", args);
        Assert.Contains(Path.Combine(Path.GetTempPath(), "azurite"), args);
        Assert.Contains("127.0.0.1", args);

        var connection = Assert.IsType<ConnectionStringReference>(worker["ConnectionStrings__offsite"]);
        Assert.Same(azurite, connection.Resource);
        Assert.Equal("AzureBlob", worker["Backup__Repositories__offsite__Kind"]);
        var key = Assert.IsAssignableFrom<ParameterResource>(worker["Backup__Repositories__offsite__EncryptionKey"]);
        Assert.True(key.Secret);
        Assert.Equal(EncryptionKey, await key.GetValueAsync(CancellationToken.None));
    }

    [Fact]
    public async Task An_operators_account_replaces_azurite_and_no_secret_travels_as_plain_setting()
    {
        var (appHost, worker) = await ModelAsync("--AppHost:Offsite=true", $"--ConnectionStrings:offsite={AccountConnection}",
            $"--Backup:Repositories:offsite:EncryptionKey={EncryptionKey}", "--Backup:Repositories:offsite:Compression=lz4",
            $"--Backup:Repositories:archive:EncryptionKey={EncryptionKey}");
        await using var _ = appHost;

        Assert.DoesNotContain(appHost.Resources, r => r is AzuriteResource);
        var connection = Assert.IsType<ConnectionStringReference>(worker["ConnectionStrings__offsite"]);
        var parameter = Assert.IsAssignableFrom<ParameterResource>(connection.Resource);
        Assert.True(parameter.Secret);
        Assert.Equal(AccountConnection, await parameter.GetValueAsync(CancellationToken.None));
        // Plain settings pass on; a key given as a setting does not, for any repository (offsite's goes as the secret parameter).
        Assert.Equal("lz4", worker["Backup__Repositories__offsite__Compression"]);
        Assert.DoesNotContain(worker, e => e.Value is string text && (text.Contains(EncryptionKey) || text.Contains("c2VjcmV0LWFjY291bnQta2V5")));
    }
}
