namespace Platform.Jobs.Models.Responses;

/// <summary>A job as the runtime stores it.</summary>
public sealed record DaprJobDetails(DaprJobSchedule Schedule)
{
    /// <summary>The job name (ours: filled by GetJob and ListJobs; Dapr's record has none).</summary>
    public string? Name { get; init; }

    /// <summary>The schedule expression (<c>schedule</c> field) when the job has one, whether or not it also has a due time.</summary>
    public string? ScheduleExpression { get; init; }

    public int? RepeatCount { get; init; }

    public DateTimeOffset? DueTime { get; init; }

    /// <summary>The due time exactly as submitted (may be relative, e.g. <c>10s</c>, which <see cref="DueTime"/> cannot hold).</summary>
    public string? DueTimeExpression { get; init; }

    public DateTimeOffset? Ttl { get; init; }

    /// <summary>The TTL exactly as submitted.</summary>
    public string? TtlExpression { get; init; }

    /// <summary>The payload bytes (the Any's value, without its type URL).</summary>
    public byte[]? Payload { get; init; }

    /// <summary>Never reported by the runtime; kept for shape compatibility.</summary>
    public bool Overwrite { get; init; }

    public IFailurePolicyResponse? FailurePolicy { get; init; }
}
