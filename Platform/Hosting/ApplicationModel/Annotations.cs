namespace Platform.Hosting;

/// <summary>
/// A network endpoint of a resource. Ports are loopback ports allocated when the application starts unless
/// <see cref="Port"/> fixes one; there is no proxy, so the process listens on the allocated port itself.
/// </summary>
public sealed class EndpointAnnotation(string name, string scheme = "http", int? port = null, string? env = null) : IResourceAnnotation
{
    public string Name { get; } = name;
    public string Scheme { get; } = scheme;
    public int? Port { get; } = port;

    /// <summary>When set, the allocated port is given to the process in this environment variable.</summary>
    public string? Env { get; } = env;

    public int? AllocatedPort { get; internal set; }

    public string Url => AllocatedPort is { } p
        ? $"{Scheme}://127.0.0.1:{p}"
        : throw new InvalidOperationException($"Endpoint '{Name}' has no port yet: the application has not started.");
}

/// <summary>Environment computed when the process (re)starts, after ports are allocated.</summary>
public sealed class EnvironmentCallbackAnnotation(Action<EnvironmentCallbackContext> callback) : IResourceAnnotation
{
    public Action<EnvironmentCallbackContext> Callback { get; } = callback;
}

/// <summary>Command-line arguments computed when the process (re)starts.</summary>
public sealed class CommandLineArgsCallbackAnnotation(Action<CommandLineArgsCallbackContext> callback) : IResourceAnnotation
{
    public Action<CommandLineArgsCallbackContext> Callback { get; } = callback;
}

public sealed class EnvironmentCallbackContext(ProcessResource resource, DistributedApplicationExecutionContext executionContext)
{
    public ProcessResource Resource { get; } = resource;
    public DistributedApplicationExecutionContext ExecutionContext { get; } = executionContext;
    public IDictionary<string, string> EnvironmentVariables { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal);
}

public sealed class CommandLineArgsCallbackContext(ProcessResource resource, DistributedApplicationExecutionContext executionContext)
{
    public ProcessResource Resource { get; } = resource;
    public DistributedApplicationExecutionContext ExecutionContext { get; } = executionContext;
    public IList<string> Args { get; } = new List<string>();
}

public enum WaitType
{
    /// <summary>Wait until the dependency is Running and its health checks pass.</summary>
    WaitUntilHealthy,

    /// <summary>Wait until the dependency is Running.</summary>
    WaitUntilStarted,
}

/// <summary>This resource starts only once <see cref="Resource"/> is ready.</summary>
public sealed class WaitAnnotation(IResource resource, WaitType waitType) : IResourceAnnotation
{
    public IResource Resource { get; } = resource;
    public WaitType WaitType { get; } = waitType;
}

/// <summary>The resource is healthy when <c>GET &lt;endpoint&gt;&lt;Path&gt;</c> answers with a success status (or <see cref="StatusCode"/>).</summary>
public sealed class HttpHealthCheckAnnotation(string path, string endpointName, int? statusCode) : IResourceAnnotation
{
    public string Path { get; } = path;
    public string EndpointName { get; } = endpointName;
    public int? StatusCode { get; } = statusCode;
}

/// <summary>A health check written in code (Aspire registers these with <c>AddHealthChecks</c> and names them by key).</summary>
public sealed class DelegateHealthCheckAnnotation(Func<CancellationToken, Task<bool>> check) : IResourceAnnotation
{
    public Func<CancellationToken, Task<bool>> Check { get; } = check;
}

/// <summary>Service discovery: the endpoints of <see cref="Resource"/> are given to this one as <c>services__name__endpoint__0</c>.</summary>
public sealed class ResourceReferenceAnnotation(ProcessResource resource) : IResourceAnnotation
{
    public ProcessResource Resource { get; } = resource;
}

/// <summary>How a crashed process is brought back.</summary>
public sealed class RestartPolicyAnnotation(RestartPolicy policy) : IResourceAnnotation
{
    public RestartPolicy Policy { get; } = policy;
}

/// <summary>Marks an app that has a sidecar (the sidecar is a resource of its own).</summary>
public sealed class DaprSidecarAnnotation(DaprSidecarResource sidecar) : IResourceAnnotation
{
    public DaprSidecarResource Sidecar { get; } = sidecar;
}

/// <summary>
/// Restart with exponential backoff: the n-th consecutive restart waits <c>min(InitialDelay * 2^(n-1), MaxDelay)</c>.
/// A run that lasted <see cref="ResetAfter"/> counts as stable and resets the sequence.
/// </summary>
public sealed record RestartPolicy
{
    public bool Enabled { get; init; } = true;
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan ResetAfter { get; init; } = TimeSpan.FromSeconds(30);

    public static RestartPolicy Default { get; } = new();
    public static RestartPolicy Never { get; } = new() { Enabled = false };

    /// <summary>Delay before restart number <paramref name="consecutiveRestart"/> (1-based) of an unstable resource.</summary>
    public TimeSpan DelayFor(int consecutiveRestart)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(consecutiveRestart, 1);
        var exponent = Math.Min(consecutiveRestart - 1, 30);
        var ticks = InitialDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>Run this many copies of a project (<c>WithReplicas</c>).</summary>
public sealed class ReplicasAnnotation(int replicas) : IResourceAnnotation
{
    public int Replicas { get; } = replicas;
}
