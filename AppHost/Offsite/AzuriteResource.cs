namespace AppHost.Offsite;

/// <summary>
/// Azurite's blob service run as a plain Node process (no container), whose connection string is Azure Storage's for
/// Azurite's well-known development account (public, not a secret) on the endpoint the run gives it.
/// </summary>
public sealed class AzuriteResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "blob";
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public EndpointReference BlobEndpoint => new(this, EndpointName);

    // An IP address, not the endpoint's "localhost" URL: the Azure SDK reads the account from the path (Azurite's
    // style) only for an IP host; with "localhost" it drops the account segment and Azurite answers 400.
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{BlobEndpoint.Property(EndpointProperty.Port)}/{AccountName};");
}
