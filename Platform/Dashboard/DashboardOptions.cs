namespace Platform.Dashboard;

/// <summary>Everything the dashboard reads from configuration section "Dashboard" (env <c>Dashboard__*</c>).</summary>
public sealed class DashboardOptions
{
    public const string SectionName = "Dashboard";

    public OtlpOptions Otlp { get; set; } = new();
    public FrontendOptions Frontend { get; set; } = new();

    /// <summary>Base URL of the AppHost resource service (HTTP JSON); unset = standalone, resources come from telemetry.</summary>
    public string? ResourceServiceUrl { get; set; }

    /// <summary>Sent as <c>x-resource-service-api-key</c> when set.</summary>
    public string? ResourceServiceApiKey { get; set; }

    /// <summary>gRPC address of the scheduler (h2c), e.g. http://127.0.0.1:50006; unset = Jobs page says so.</summary>
    public string? SchedulerAddress { get; set; }

    public TelemetryLimitsOptions TelemetryLimits { get; set; } = new();
}

public sealed class OtlpOptions
{
    /// <summary>OTLP/gRPC listener (h2c), e.g. http://127.0.0.1:4317.</summary>
    public string? GrpcEndpointUrl { get; set; }

    /// <summary>OTLP/HTTP (protobuf) listener, e.g. http://127.0.0.1:4318.</summary>
    public string? HttpEndpointUrl { get; set; }

    /// <summary>When set, every OTLP request must carry it in <c>x-otlp-api-key</c>.</summary>
    public string? PrimaryApiKey { get; set; }

    /// <summary>Accepted as well, so a key can be rotated without a gap.</summary>
    public string? SecondaryApiKey { get; set; }
}

public sealed class FrontendOptions
{
    /// <summary>When set, the UI requires a login through <c>/login?t=&lt;token&gt;</c>; unset = unsecured.</summary>
    public string? BrowserToken { get; set; }
}

/// <summary>
/// Every store is bounded by one of these; the oldest item is evicted first. Per-item caps (attribute count and
/// length) bound the size of each item, so the count limits bound the memory.
/// </summary>
public sealed class TelemetryLimitsOptions
{
    public int MaxLogCount { get; set; } = 10_000;
    public int MaxSpanCount { get; set; } = 10_000;
    public int MaxMetricPoints { get; set; } = 50_000;
    public int MaxConsoleLogLines { get; set; } = 10_000;
    public int MaxAttributeCount { get; set; } = 128;
    public int MaxAttributeLength { get; set; } = 4_096;
    public int MaxSpanEventCount { get; set; } = 64;
    public int MaxResourceCount { get; set; } = 1_000;
}
