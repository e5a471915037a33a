namespace Platform.Scheduler.Hosting;

/// <summary>Process settings, bound from the "Scheduler" configuration section (command-line flags map onto it).</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    public int Port { get; set; } = 50006;
    public string ListenAddress { get; set; } = "127.0.0.1";
    public string Id { get; set; } = "dapr-scheduler-server-0";
    public string DataDir { get; set; } = "./data";
    public int HealthzPort { get; set; } = 8080;
    /// <summary>Dapr's --tls-enabled, on by default here: only mTLS clients with a Dapr identity are served.</summary>
    public bool TlsEnabled { get; set; } = true;
    public string? TrustAnchorsFile { get; set; }
    public string? CertChainFile { get; set; }
    public string? CertKeyFile { get; set; }
    /// <summary>Dapr's --sentry-address: the identity is requested from this Sentry and renewed, not read from files.</summary>
    public string? SentryAddress { get; set; }
    /// <summary>Dapr's --override-broadcast-host-port: the host:port other replicas' sidecars are told to dial this one at.</summary>
    public string? BroadcastAddress { get; set; }

    /// <summary>
    /// The trust domains apps' certificates may name (comma-separated; Dapr's default "public"): each app's
    /// Configuration sets its own (accessControl.trustDomain), so the scheduler is told which ones the run uses.
    /// </summary>
    public string AppTrustDomains { get; set; } = Platform.Security.SpiffeId.DefaultTrustDomain;

    /// <summary><see cref="AppTrustDomains"/> as a set; throws naming the flag when it names none or a malformed one.</summary>
    public IReadOnlySet<string> ParseAppTrustDomains()
    {
        var domains = AppTrustDomains.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        if (domains.Count == 0 || domains.Any(d => !Platform.Security.SpiffeId.IsTrustDomain(d)))
            throw new InvalidOperationException($"--app-trust-domains '{AppTrustDomains}': want trust domains such as public or example.org, comma-separated.");
        return domains;
    }

    /// <summary>The address this replica announces (WatchHosts): the broadcast override, else the listen address and port.</summary>
    public string AdvertisedAddress =>
        !string.IsNullOrEmpty(BroadcastAddress) ? BroadcastAddress
        : $"{(ListenAddress is "0.0.0.0" or "::" or "[::]" ? "localhost" : ListenAddress)}:{Port}";

    /// <summary>Dapr's flag names, mapped to configuration keys of this section.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--port"] = $"{Section}:{nameof(Port)}",
        ["--listen-address"] = $"{Section}:{nameof(ListenAddress)}",
        ["--id"] = $"{Section}:{nameof(Id)}",
        ["--data-dir"] = $"{Section}:{nameof(DataDir)}",
        ["--etcd-data-dir"] = $"{Section}:{nameof(DataDir)}",
        ["--healthz-port"] = $"{Section}:{nameof(HealthzPort)}",
        ["--log-level"] = "Scheduler:LogLevel",
        ["--tls-enabled"] = $"{Section}:{nameof(TlsEnabled)}",
        ["--trust-anchors-file"] = $"{Section}:{nameof(TrustAnchorsFile)}",
        ["--cert-chain-file"] = $"{Section}:{nameof(CertChainFile)}",
        ["--cert-key-file"] = $"{Section}:{nameof(CertKeyFile)}",
        ["--sentry-address"] = $"{Section}:{nameof(SentryAddress)}",
        ["--override-broadcast-host-port"] = $"{Section}:{nameof(BroadcastAddress)}",
        ["--app-trust-domains"] = $"{Section}:{nameof(AppTrustDomains)}",
    };

    /// <summary>Dapr's log level names to Microsoft.Extensions.Logging's.</summary>
    public static LogLevel ParseLogLevel(string? value) => value?.ToLowerInvariant() switch
    {
        "debug" => LogLevel.Debug,
        "trace" => LogLevel.Trace,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "fatal" => LogLevel.Critical,
        _ => LogLevel.Information,
    };
}
