namespace Platform.Hosting;

/// <summary>Sidecar settings, named as in CommunityToolkit.Aspire.Hosting.Dapr; each maps to the daprd flag of the same name.</summary>
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

    /// <summary><c>--app-channel-address</c>, default 127.0.0.1.</summary>
    public string? AppChannelAddress { get; init; }

    /// <summary>Fixed <c>--dapr-http-port</c>; otherwise a free port.</summary>
    public int? DaprHttpPort { get; init; }

    /// <summary>Fixed <c>--dapr-grpc-port</c>; otherwise a free port.</summary>
    public int? DaprGrpcPort { get; init; }

    /// <summary><c>--dapr-listen-addresses</c>, default 127.0.0.1.</summary>
    public string? DaprListenAddresses { get; init; }

    /// <summary><c>--log-level</c>.</summary>
    public string? LogLevel { get; init; }

    /// <summary><c>--scheduler-host-address</c>; defaults to the application's scheduler resource. Empty disables jobs.</summary>
    public string? SchedulerHostAddress { get; init; }

    /// <summary>Our <c>--name-resolution-sqlite</c>; defaults to <c>&lt;data dir&gt;/nameresolution.db</c>, shared by all sidecars.</summary>
    public string? NameResolutionSqlite { get; init; }

    /// <summary><c>DAPR_API_TOKEN</c> given to both the sidecar and its app.</summary>
    public string? DaprApiToken { get; init; }
}
