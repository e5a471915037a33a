namespace Platform.Hosting.Testing;

public static class DistributedApplicationTestingExtensions
{
    /// <summary>An HttpClient whose BaseAddress is the resource's endpoint (default <c>http</c>).</summary>
    public static HttpClient CreateHttpClient(this DistributedApplication app, string resourceName, string? endpointName = null)
        => new() { BaseAddress = app.GetEndpoint(resourceName, endpointName) };

    public static Uri GetEndpoint(this DistributedApplication app, string resourceName, string? endpointName = null)
    {
        var resource = app.Resources.FirstOrDefault(r => string.Equals(r.Name, resourceName, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Resource '{resourceName}' not found.", nameof(resourceName));
        var endpoint = resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == (endpointName ?? "http"))
            ?? throw new ArgumentException($"Resource '{resourceName}' has no endpoint '{endpointName ?? "http"}'.", nameof(endpointName));
        if (endpoint.AllocatedPort is null) throw new InvalidOperationException("The application has not been started.");
        return new Uri(endpoint.Url + "/");
    }

    /// <summary>The builder of a resource of the AppHost's model, by name (to change it before BuildAsync).</summary>
    public static IResourceBuilder<ProcessResource> CreateResourceBuilder(this IDistributedApplicationBuilder builder, string resourceName)
    {
        var resource = builder.Resources.FirstOrDefault(r => string.Equals(r.Name, resourceName, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Resource '{resourceName}' not found.", nameof(resourceName));
        return builder.CreateResourceBuilder(resource);
    }
}
