namespace Platform.Hosting.Dapr;

/// <summary>
/// Sidecar settings with CommunityToolkit.Aspire.Hosting.Dapr's names, each mapped to the daprd flag it names. The
/// toolkit's options for features our sidecar does not have (actors' placement, components, profiling, unix sockets)
/// are left out rather than accepted and ignored.
/// </summary>
public sealed record DaprSidecarOptions
{
    /// <summary><c>--app-id</c>; defaults to the app resource's name.</summary>
    public string? AppId { get; init; }

    /// <summary><c>--app-port</c>; defaults to the port of the app endpoint.</summary>
    public int? AppPort { get; init; }

    /// <summary><c>--app-protocol</c> (<c>http</c> or <c>grpc</c>); defaults to the app endpoint's scheme.</summary>
    public string? AppProtocol { get; init; }

    /// <summary>Name of the app endpoint the sidecar calls (default <c>http</c>, or the one named like <see cref="AppProtocol"/>).</summary>
    public string? AppEndpoint { get; init; }

    /// <summary><c>--app-channel-address</c>; defaults to the host of the app endpoint.</summary>
    public string? AppChannelAddress { get; init; }

    /// <summary><c>--enable-app-health-check</c>: the sidecar delivers triggers only while the app's health probe passes.</summary>
    public bool? EnableAppHealthCheck { get; init; }

    /// <summary><c>--app-health-check-path</c>.</summary>
    public string? AppHealthCheckPath { get; init; }

    /// <summary><c>--app-health-probe-interval</c>, seconds.</summary>
    public int? AppHealthProbeInterval { get; init; }

    /// <summary><c>--app-health-probe-timeout</c>, milliseconds.</summary>
    public int? AppHealthProbeTimeout { get; init; }

    /// <summary><c>--app-health-threshold</c>.</summary>
    public int? AppHealthThreshold { get; init; }

    /// <summary>Fixed port of the sidecar's <c>http</c> endpoint; otherwise a free one.</summary>
    public int? DaprHttpPort { get; init; }

    /// <summary>Fixed port of the sidecar's <c>grpc</c> endpoint; otherwise a free one.</summary>
    public int? DaprGrpcPort { get; init; }

    /// <summary>Fixed port of the sidecar's <c>metrics</c> endpoint (Prometheus text on <c>/metrics</c>); otherwise a free one.</summary>
    public int? MetricsPort { get; init; }

    /// <summary><c>--dapr-listen-addresses</c>; default 127.0.0.1.</summary>
    public string? DaprListenAddresses { get; init; }

    /// <summary><c>--log-level</c>.</summary>
    public string? LogLevel { get; init; }

    /// <summary>
    /// <c>--config</c>: a Dapr Configuration file for the sidecar. Unset (with mTLS on), the AppHost writes one per
    /// app id with access control from <see cref="DaprAccessControlExtensions.AllowDaprInvocation"/>, default deny.
    /// </summary>
    public string? Config { get; init; }

    /// <summary><c>--scheduler-host-address</c>; defaults to the scheduler resource of the model. Empty disables jobs.</summary>
    public string? SchedulerHostAddress { get; init; }
}
