using Platform.Scheduler.Schedules;

namespace Platform.Sentry;

/// <summary>Process settings, bound from the "Sentry" configuration section (command-line flags map onto it).</summary>
public sealed class SentryOptions
{
    public const string Section = "Sentry";

    /// <summary>The variable that lists who may ask for which identity: <c>&lt;spiffe id&gt;=&lt;sha-256 of its token, hex&gt;</c>, comma separated.</summary>
    public const string BootstrapTokensVariable = "SENTRY_BOOTSTRAP_TOKENS";

    /// <summary>
    /// The same for etcd client certificates (signed by etcd's CA from the handoff): only etcd client ids
    /// (<see cref="Platform.Security.Renewal.EtcdClientIdentity"/>), each with the SHA-256 of its replica's token.
    /// </summary>
    public const string EtcdClientTokensVariable = "SENTRY_ETCD_CLIENT_TOKENS";

    /// <summary>Dapr's Sentry port.</summary>
    public int Port { get; set; } = 50001;
    public string ListenAddress { get; set; } = "127.0.0.1";
    public int HealthzPort { get; set; } = 8080;

    /// <summary>The trust domain and namespace of the Sentry's own identity (its serving certificate).</summary>
    public string TrustDomain { get; set; } = Platform.Security.SpiffeId.DefaultControlPlaneTrustDomain;
    public string Namespace { get; set; } = Platform.Security.SpiffeId.DefaultControlPlaneNamespace;

    /// <summary>Dapr's spec.mtls.workloadCertTTL (Go duration): 24 h by default.</summary>
    public string WorkloadCertTtl { get; set; } = "24h";

    /// <summary>Dapr's spec.mtls.allowedClockSkew (Go duration): certificates are valid from this long before they are signed.</summary>
    public string AllowedClockSkew { get; set; } = "15m";

    /// <summary>
    /// A PEM file holding the CA certificate and its key, handed over by whoever started this process (the AppHost).
    /// Read once at start and deleted at once, so the key is on disk only between the two.
    /// </summary>
    public string? CaCredentialsFile { get; set; }

    /// <summary>Without <see cref="CaCredentialsFile"/>: a fresh root is made in memory and its certificate written here for the others.</summary>
    public string? WriteTrustAnchorsFile { get; set; }

    public string? LogLevel { get; set; }

    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--port"] = $"{Section}:{nameof(Port)}",
        ["--listen-address"] = $"{Section}:{nameof(ListenAddress)}",
        ["--healthz-port"] = $"{Section}:{nameof(HealthzPort)}",
        ["--trust-domain"] = $"{Section}:{nameof(TrustDomain)}",
        ["--namespace"] = $"{Section}:{nameof(Namespace)}",
        ["--workload-cert-ttl"] = $"{Section}:{nameof(WorkloadCertTtl)}",
        ["--allowed-clock-skew"] = $"{Section}:{nameof(AllowedClockSkew)}",
        ["--ca-credentials-file"] = $"{Section}:{nameof(CaCredentialsFile)}",
        ["--write-trust-anchors-file"] = $"{Section}:{nameof(WriteTrustAnchorsFile)}",
        ["--log-level"] = $"{Section}:{nameof(LogLevel)}",
    };

    public TimeSpan WorkloadLifetime => Duration(WorkloadCertTtl, "--workload-cert-ttl");

    public TimeSpan ClockSkew => Duration(AllowedClockSkew, "--allowed-clock-skew");

    /// <summary>A message naming what is wrong, or null.</summary>
    public string? Validate()
    {
        try
        {
            if (WorkloadLifetime < TimeSpan.FromSeconds(1)) return "--workload-cert-ttl must be at least 1s";
            if (ClockSkew < TimeSpan.Zero) return "--allowed-clock-skew must not be negative";
        }
        catch (FormatException e)
        {
            return e.Message;
        }
        if (CaCredentialsFile is null && WriteTrustAnchorsFile is null)
            return "give --ca-credentials-file (the CA to sign with) or --write-trust-anchors-file (where to publish a new root)";
        return null;
    }

    private static TimeSpan Duration(string text, string flag) =>
        GoDuration.TryParse(text, out var ns, out var error) ? TimeSpan.FromTicks(GoDuration.ToTicks(ns))
            : throw new FormatException($"{flag}: {error}");
}
