namespace Platform.Hosting;

/// <summary>The Aspire-shaped fluent API over the model.</summary>
public static class ResourceBuilderExtensions
{
    public static IResourceBuilder<ProjectResource> AddProject<TProject>(this IDistributedApplicationBuilder builder, string name)
        where TProject : IProjectMetadata, new()
        => builder.AddProject(name, new TProject());

    public static IResourceBuilder<ProjectResource> AddProject(this IDistributedApplicationBuilder builder, string name, IProjectMetadata metadata)
    {
        var project = new ProjectResource(name, metadata);
        // Like Aspire's default launch profile: one http endpoint, given to Kestrel through ASPNETCORE_URLS.
        project.Annotations.Add(new EndpointAnnotation("http"));
        return builder.AddResource(project);
    }

    public static IResourceBuilder<ExecutableResource> AddExecutable(this IDistributedApplicationBuilder builder, string name,
        string command, string workingDirectory, params string[]? args)
    {
        var executable = new ExecutableResource(name, command, Path.GetFullPath(workingDirectory, builder.AppHostDirectory));
        if (args is not null) executable.BaseArgs.AddRange(args);
        return builder.AddResource(executable);
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string? value)
        where T : ProcessResource
        => builder.WithEnvironment(ctx =>
        {
            if (value is null) ctx.EnvironmentVariables.Remove(name);
            else ctx.EnvironmentVariables[name] = value;
        });

    /// <summary>The value is computed at each start, e.g. from an endpoint allocated at start.</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, Func<string> value)
        where T : ProcessResource
        => builder.WithEnvironment(ctx => ctx.EnvironmentVariables[name] = value());

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, Action<EnvironmentCallbackContext> callback)
        where T : ProcessResource
        => builder.WithAnnotation(new EnvironmentCallbackAnnotation(callback));

    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, params string[] args) where T : ProcessResource
        => builder.WithArgs(ctx => { foreach (var a in args) ctx.Args.Add(a); });

    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, Action<CommandLineArgsCallbackContext> callback)
        where T : ProcessResource
        => builder.WithAnnotation(new CommandLineArgsCallbackAnnotation(callback));

    /// <summary>
    /// Adds (or, for a project's default <c>http</c> endpoint, fixes the port of) an HTTP endpoint. <paramref name="env"/>
    /// names an environment variable that receives the port.
    /// </summary>
    public static IResourceBuilder<T> WithHttpEndpoint<T>(this IResourceBuilder<T> builder, int? port = null, string? name = null, string? env = null)
        where T : ProcessResource
        => builder.WithEndpoint(port, "http", name, env);

    public static IResourceBuilder<T> WithEndpoint<T>(this IResourceBuilder<T> builder, int? port = null, string scheme = "http",
        string? name = null, string? env = null)
        where T : ProcessResource
    {
        name ??= scheme;
        var existing = builder.Resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == name);
        if (existing is not null) builder.Resource.Annotations.Remove(existing);
        return builder.WithAnnotation(new EndpointAnnotation(name, scheme, port, env ?? existing?.Env));
    }

    public static EndpointAnnotation GetEndpoint<T>(this IResourceBuilder<T> builder, string name) where T : ProcessResource
        => builder.Resource.GetEndpoint(name);

    public static EndpointAnnotation GetEndpoint(this ProcessResource resource, string name)
        => resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == name)
           ?? throw new ArgumentException($"Resource '{resource.Name}' has no endpoint named '{name}'.", nameof(name));

    /// <summary>Service discovery: gives this resource <c>services__&lt;name&gt;__&lt;endpoint&gt;__0=&lt;url&gt;</c> for each endpoint of <paramref name="source"/>.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<ProcessResource> source)
        where T : ProcessResource
        => builder.WithAnnotation(new ResourceReferenceAnnotation(source.Resource));

    /// <summary>Start only once <paramref name="dependency"/> is running and healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : ProcessResource
        => builder.WithWait(dependency.Resource, WaitType.WaitUntilHealthy);

    /// <summary>Start only once <paramref name="dependency"/> is running (health not required).</summary>
    public static IResourceBuilder<T> WaitForStart<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : ProcessResource
        => builder.WithWait(dependency.Resource, WaitType.WaitUntilStarted);

    private static IResourceBuilder<T> WithWait<T>(this IResourceBuilder<T> builder, IResource dependency, WaitType waitType)
        where T : ProcessResource
    {
        if (ReferenceEquals(dependency, builder.Resource))
            throw new ArgumentException($"Resource '{dependency.Name}' cannot wait for itself.", nameof(dependency));
        return builder.WithAnnotation(new WaitAnnotation(dependency, waitType));
    }

    /// <summary>Healthy when <c>GET path</c> on the endpoint answers with a 2xx status (or exactly <paramref name="statusCode"/>).</summary>
    public static IResourceBuilder<T> WithHttpHealthCheck<T>(this IResourceBuilder<T> builder, string? path = null, int? statusCode = null,
        string? endpointName = null)
        where T : ProcessResource
        => builder.WithAnnotation(new HttpHealthCheckAnnotation(path ?? "/", endpointName ?? "http", statusCode));

    /// <summary>Healthy when the delegate returns true (polled while the process runs).</summary>
    public static IResourceBuilder<T> WithHealthCheck<T>(this IResourceBuilder<T> builder, Func<CancellationToken, Task<bool>> check)
        where T : ProcessResource
        => builder.WithAnnotation(new DelegateHealthCheckAnnotation(check));

    /// <summary>
    /// Runs <paramref name="replicas"/> copies of the project: the resource itself and <c>&lt;name&gt;-2</c> … <c>&lt;name&gt;-n</c>,
    /// each with its own ports, environment and (with <c>WithDaprSidecar</c>) its own sidecar under the same app id.
    /// References list every replica (<c>services__name__http__0..n-1</c>); <c>WaitFor</c> waits for the first.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReplicas(this IResourceBuilder<ProjectResource> builder, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        foreach (var old in builder.Resource.Annotations.OfType<ReplicasAnnotation>().ToList()) builder.Resource.Annotations.Remove(old);
        return builder.WithAnnotation(new ReplicasAnnotation(replicas));
    }

    public static IResourceBuilder<T> WithRestartPolicy<T>(this IResourceBuilder<T> builder, RestartPolicy policy) where T : ProcessResource
    {
        foreach (var old in builder.Resource.Annotations.OfType<RestartPolicyAnnotation>().ToList()) builder.Resource.Annotations.Remove(old);
        return builder.WithAnnotation(new RestartPolicyAnnotation(policy));
    }
}
