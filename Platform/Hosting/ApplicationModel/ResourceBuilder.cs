namespace Platform.Hosting;

/// <summary>Fluent handle on one resource of the model, as in Aspire.</summary>
public interface IResourceBuilder<out T> where T : IResource
{
    IDistributedApplicationBuilder ApplicationBuilder { get; }
    T Resource { get; }
    IResourceBuilder<T> WithAnnotation(IResourceAnnotation annotation);
}

internal sealed class ResourceBuilder<T>(IDistributedApplicationBuilder applicationBuilder, T resource) : IResourceBuilder<T>
    where T : IResource
{
    public IDistributedApplicationBuilder ApplicationBuilder { get; } = applicationBuilder;
    public T Resource { get; } = resource;

    public IResourceBuilder<T> WithAnnotation(IResourceAnnotation annotation)
    {
        Resource.Annotations.Add(annotation);
        return this;
    }
}

/// <summary>What the AppHost knows when it computes a process's environment and arguments.</summary>
public sealed class DistributedApplicationExecutionContext
{
    internal DistributedApplicationExecutionContext(string dataDirectory, string appHostDirectory, IReadOnlyList<ProcessResource> resources)
    {
        DataDirectory = dataDirectory;
        AppHostDirectory = appHostDirectory;
        Resources = resources;
    }

    public string DataDirectory { get; }
    public string AppHostDirectory { get; }
    public IReadOnlyList<ProcessResource> Resources { get; }

    /// <summary>The dashboard, when the application runs one; apps then export telemetry to it.</summary>
    public DashboardResource? Dashboard { get; internal set; }

    /// <summary>Value of the <c>x-otlp-api-key</c> header the dashboard requires.</summary>
    public string OtlpApiKey { get; internal set; } = "";

    public string ResourceServiceUrl { get; internal set; } = "";
    public string ResourceServiceApiKey { get; internal set; } = "";

    /// <summary>The dashboard's browser token (32 hex characters), used in the login URL.</summary>
    public string BrowserToken { get; internal set; } = "";
}
