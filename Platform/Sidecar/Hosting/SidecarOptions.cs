using Platform.Sidecar.Security;

namespace Platform.Sidecar.Hosting;

/// <summary>The sidecar's settings, bound from the "Sidecar" configuration section (daprd flags map into it).</summary>
public sealed class SidecarOptions
{
    public const string Section = "Sidecar";

    public string AppId { get; set; } = "";
    /// <summary>Empty when the app has no port: triggers are then accepted and failed, as daprd does.</summary>
    public string? AppPort { get; set; }
    public string AppProtocol { get; set; } = "http";
    public string AppChannelAddress { get; set; } = "127.0.0.1";
    public int DaprHttpPort { get; set; } = 3500;
    public int DaprGrpcPort { get; set; } = 50001;
    public string SchedulerHostAddress { get; set; } = "localhost:50006";
    public string DaprListenAddresses { get; set; } = "127.0.0.1";
    public string LogLevel { get; set; } = "info";
    public string? NameResolutionSqlite { get; set; }
    public string Namespace { get; set; } = "default";
    public string? ApiToken { get; set; }
    public string? AppApiToken { get; set; }
    public bool EnableAppHealthCheck { get; set; }
    public string AppHealthCheckPath { get; set; } = "/healthz";
    /// <summary>Seconds between probes.</summary>
    public int AppHealthProbeInterval { get; set; } = 5;
    /// <summary>Milliseconds a probe may take.</summary>
    public int AppHealthProbeTimeout { get; set; } = 500;
    /// <summary>Consecutive failed probes before the app counts as unhealthy.</summary>
    public int AppHealthThreshold { get; set; } = 3;
    /// <summary>daprd's --enable-metrics: serve Prometheus metrics on the metrics port.</summary>
    public bool EnableMetrics { get; set; } = true;
    /// <summary>daprd's --metrics-port; null when the flag was not given (then <see cref="DefaultMetricsPort"/>).</summary>
    public int? MetricsPort { get; set; }
    /// <summary>Address of the metrics listener; loopback unless told otherwise.</summary>
    public string MetricsListenAddress { get; set; } = "127.0.0.1";
    /// <summary>daprd's --enable-mtls and the identity it needs (see Security/SidecarSecurity).</summary>
    public bool EnableMtls { get; set; }
    public string? TrustAnchorsFile { get; set; }
    public string? CertChainFile { get; set; }
    public string? CertKeyFile { get; set; }
    /// <summary>daprd's --sentry-address: with mTLS, the certificate is requested from this Sentry and renewed, not read from files.</summary>
    public string? SentryAddress { get; set; }
    public string ControlPlaneTrustDomain { get; set; } = Platform.Security.SpiffeId.DefaultControlPlaneTrustDomain;
    public string ControlPlaneNamespace { get; set; } = Platform.Security.SpiffeId.DefaultControlPlaneNamespace;
    /// <summary>daprd's --dapr-internal-grpc-port: where other sidecars invoke this one over mTLS; null = a free port.</summary>
    public int? DaprInternalGrpcPort { get; set; }
    /// <summary>daprd's --config: a Dapr Configuration YAML file; its spec.accessControl governs calls from other sidecars.</summary>
    public string? Config { get; set; }

    /// <summary>daprd's --max-body-size: bounds HTTP request bodies and gRPC messages (see <see cref="BodySize"/>).</summary>
    public string MaxBodySize { get; set; } = BodySize.Default;
    /// <summary>daprd's deprecated --dapr-http-max-request-size, in MB; wins over <see cref="MaxBodySize"/> when given.</summary>
    public int? DaprHttpMaxRequestSize { get; set; }
    /// <summary>Milliseconds the app may take to answer a job trigger; then the trigger counts as failed. 0 = no bound.</summary>
    public int AppJobTimeout { get; set; } = 15 * 60 * 1000;

    public int MaxBodyBytes => BodySize.Resolve(MaxBodySize, DaprHttpMaxRequestSize);

    public const int DefaultMetricsPort = 9090;

    public int MetricsPortNumber => MetricsPort ?? DefaultMetricsPort;

    public int? AppPortNumber => int.TryParse(AppPort, out var p) && p > 0 ? p : null;

    public bool AppIsGrpc => AppProtocol.Equals("grpc", StringComparison.OrdinalIgnoreCase)
        || AppProtocol.Equals("grpcs", StringComparison.OrdinalIgnoreCase);

    public IReadOnlyList<string> SchedulerHosts => SchedulerHostAddress
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IReadOnlyList<string> ListenAddresses => DaprListenAddresses
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string AppBaseUrl => $"http://{FormatHost(AppChannelAddress)}:{AppPortNumber}";

    /// <summary>Settings that are valid one by one but not together; null when there is nothing to refuse.</summary>
    public string? Validate()
    {
        if (!EnableMetrics) return null;
        if (!SidecarFlags.TryParseListenAddress(MetricsListenAddress, out _)) return $"invalid value \"{MetricsListenAddress}\" for flag --metrics-listen-address: want an IP address or localhost";
        if (MetricsPortNumber == DaprHttpPort) return $"--metrics-port {MetricsPortNumber} is also the dapr HTTP port";
        if (MetricsPortNumber == DaprGrpcPort) return $"--metrics-port {MetricsPortNumber} is also the dapr gRPC port";
        return null;
    }

    internal static string FormatHost(string host) => host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host;
}
