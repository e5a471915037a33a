using Microsoft.Extensions.Configuration;

namespace AppHost.Offsite;

/// <summary>
/// <c>--AppHost:Offsite=true</c>: the worker's offsite repository. Its storage is the account given as
/// <c>ConnectionStrings:offsite</c> to the AppHost, or else an Azurite run under the run's data directory; its
/// encryption key is a secret parameter, generated once and kept in the AppHost's user secrets.
/// </summary>
public static class OffsiteRepository
{
    public const string Name = "offsite";
    public const string FlagKey = "AppHost:Offsite";
    public const string AzuriteVersion = "3.37.0";

    public static bool IsEnabled(IConfiguration configuration) => configuration.GetValue(FlagKey, false);

    /// <summary>The connection-string resource the worker references: the operator's account, or Azurite.</summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddOffsiteStorage(this IDistributedApplicationBuilder builder, string dataDirectory)
    {
        if (!string.IsNullOrEmpty(builder.Configuration.GetConnectionString(Name)))
            return builder.AddConnectionString(Name);
        var data = Path.Combine(dataDirectory, "azurite");
        Directory.CreateDirectory(data);
        // test.sh installs the pinned Azurite into the repository's .tools; without it, npx fetches the same version.
        var installed = Path.Combine(builder.AppHostDirectory, "..", ".tools", "azurite", "node_modules", "azurite", "dist", "src", "blob", "main.js");
        var (command, launcher) = File.Exists(installed)
            ? ("node", new[] { Path.GetFullPath(installed) })
            : ("npx", new[] { "--yes", "--package", $"azurite@{AzuriteVersion}", "azurite-blob" });
        var azurite = new AzuriteResource(Name, command, data);
        return builder.AddResource(azurite)
            .WithHttpEndpoint(name: AzuriteResource.EndpointName)
            .WithArgs(context =>
            {
                foreach (var arg in launcher) context.Args.Add(arg);
                // --disableTelemetry: Azurite otherwise reports each run to Application Insights, off this machine.
                foreach (var arg in (string[])["--blobHost", "127.0.0.1", "--location", data, "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl",
                             "--disableTelemetry", "--blobPort"])
                    context.Args.Add(arg);
                context.Args.Add(azurite.BlobEndpoint.Property(EndpointProperty.TargetPort));
            })
            // An anonymous listing is refused (403): any answer means it serves requests.
            .WithHttpHealthCheck($"/{AzuriteResource.AccountName}?comp=list", statusCode: 403, endpointName: AzuriteResource.EndpointName);
    }

    /// <summary>Hands the worker repository <c>offsite</c>: its connection string, kind and encryption key (secret).</summary>
    public static IResourceBuilder<ProjectResource> WithOffsiteRepository(this IResourceBuilder<ProjectResource> worker,
        IResourceBuilder<IResourceWithConnectionString> storage, IResourceBuilder<ParameterResource> encryptionKey) =>
        worker.WithReference(storage, connectionName: Name)
            .WaitFor(storage)
            .WithEnvironment($"Backup__Repositories__{Name}__Kind", "AzureBlob")
            .WithEnvironment($"Backup__Repositories__{Name}__EncryptionKey", encryptionKey);

    public static IResourceBuilder<ParameterResource> AddOffsiteEncryptionKey(this IDistributedApplicationBuilder builder) =>
        builder.AddParameter("offsite-encryption-key", new Base64KeyDefault(), secret: true, persist: true);
}
