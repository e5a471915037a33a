namespace Platform.Hosting;

/// <summary>Aspire's resource state names (KnownResourceStates), as the resource service reports them.</summary>
public static class KnownResourceStates
{
    public const string NotStarted = nameof(NotStarted);
    public const string Waiting = nameof(Waiting);
    public const string Starting = nameof(Starting);
    public const string Running = nameof(Running);
    public const string Stopping = nameof(Stopping);
    public const string Exited = nameof(Exited);
    public const string Finished = nameof(Finished);
    public const string FailedToStart = nameof(FailedToStart);

    public static bool IsTerminal(string state) => state is Exited or Finished or FailedToStart;
}

public static class HealthStatus
{
    public const string Healthy = nameof(Healthy);
    public const string Unhealthy = nameof(Unhealthy);
}

public sealed record ResourceUrl(string Name, string Url);

public sealed record EnvironmentVariableSnapshot(string Name, string Value);

/// <summary>An immutable picture of one resource at one moment.</summary>
public sealed record ResourceSnapshot
{
    public required string ResourceType { get; init; }
    public string State { get; init; } = KnownResourceStates.NotStarted;

    /// <summary>Null unless Running; Running without checks counts as Healthy.</summary>
    public string? HealthStatus { get; init; }

    public int? Pid { get; init; }
    public int Restarts { get; init; }
    public DateTime? StartTimeUtc { get; init; }
    public DateTime? StopTimeUtc { get; init; }
    public int? ExitCode { get; init; }
    public string? Parent { get; init; }
    public IReadOnlyList<ResourceUrl> Urls { get; init; } = [];
    public IReadOnlyList<EnvironmentVariableSnapshot> EnvironmentVariables { get; init; } = [];

    public bool IsHealthy => State == KnownResourceStates.Running && HealthStatus == Hosting.HealthStatus.Healthy;
}

public sealed record ResourceEvent(IResource Resource, string ResourceId, ResourceSnapshot Snapshot);

public sealed class DistributedApplicationException(string message) : Exception(message);
