namespace Platform.Hosting.Dapr;

/// <summary>
/// Settings of the Dapr integration as a whole (the toolkit's <c>DaprOptions</c>, where it has <c>DaprPath</c> to the
/// dapr CLI; ours has the paths of the two programs that stand in for daprd and the Dapr scheduler).
/// </summary>
public sealed record DaprOptions
{
    /// <summary>The sidecar program (<c>dotnet &lt;path&gt;</c>); default: the one this AppHost's build produced.</summary>
    public string? SidecarPath { get; set; }

    /// <summary>The scheduler program; default: the one this AppHost's build produced.</summary>
    public string? SchedulerPath { get; set; }

    /// <summary>
    /// The etcd server that scheduler replicas share (Debian's <c>etcd-server</c> package); default <c>/usr/bin/etcd</c>.
    /// A bare name is looked up on <c>PATH</c>.
    /// </summary>
    public string? EtcdPath { get; set; }

    /// <summary>Whether sidecars and scheduler export logs, traces and metrics to the dashboard (null = yes), as the toolkit's option.</summary>
    public bool? EnableTelemetry { get; set; }

    /// <summary>
    /// Whether sidecars and apps get a <c>DAPR_API_TOKEN</c> (app → sidecar) and an <c>APP_API_TOKEN</c> (sidecar →
    /// app), as Dapr's token authentication has them (null = yes), each app id its own: the secret parameters
    /// <c>&lt;app id&gt;-dapr-api-token</c> and <c>&lt;app id&gt;-app-api-token</c>, random for each run unless configured
    /// (<c>Parameters:backupworker-dapr-api-token</c>). Sidecars authenticate each other by certificate, not by token.
    /// </summary>
    public bool? EnableApiTokens { get; set; }

    /// <summary>
    /// Whether the run uses Dapr's mTLS identities (null = yes): the AppHost issues each sidecar a certificate naming
    /// its namespace and app id and the scheduler its own; the scheduler serves each sidecar only its app id's jobs, and
    /// sidecars invoke each other over mTLS. <c>false</c> starts the scheduler with <c>--tls-enabled=false</c>.
    /// </summary>
    public bool? EnableMtls { get; set; }

    /// <summary>
    /// Whether the run's identities come from a <c>sentry</c> resource (null = yes, when this AppHost's build has it):
    /// sidecars and schedulers make their keys in memory, ask it for short-lived certificates with a per-process
    /// bootstrap token and renew them before 70 % of their life. <c>false</c> gives them certificate files instead.
    /// </summary>
    public bool? EnableSentry { get; set; }

    /// <summary>
    /// The apps' trust domain (Dapr's Configuration <c>accessControl.trustDomain</c>; default Dapr's <c>public</c>): every
    /// sidecar's certificate names it, each app's Configuration says it, and the scheduler serves only it.
    /// </summary>
    public string? TrustDomain { get; set; }

    /// <summary>The Sentry's program; default: the one this AppHost's build produced.</summary>
    public string? SentryPath { get; set; }

    /// <summary>How long the Sentry's workload certificates live (Dapr's workloadCertTTL); default 24 h.</summary>
    public TimeSpan? WorkloadCertificateLifetime { get; set; }

    /// <summary>
    /// Where the scheduler keeps its jobs and the sidecars their shared name-resolution file (real Dapr keeps the
    /// scheduler's data in the volume <c>dapr init</c> creates). Default: <c>&lt;AppHost directory&gt;/.data</c>.
    /// </summary>
    public string? DataDirectory { get; set; }
}
