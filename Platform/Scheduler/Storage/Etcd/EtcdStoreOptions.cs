namespace Platform.Scheduler.Storage.Etcd;

/// <summary>
/// Dapr's flags for an external etcd cluster, bound from the "Scheduler:Etcd" section. <c>--etcd-embed=false</c> with
/// <c>--etcd-client-endpoints=host:port,...</c> selects the etcd store; the embedded SQLite file stays the default.
/// </summary>
public sealed class EtcdStoreOptions
{
    public const string Section = "Scheduler:Etcd";

    /// <summary>True (Dapr's default) keeps the embedded store; false uses the cluster at <see cref="ClientEndpoints"/>.</summary>
    public bool Embed { get; set; } = true;
    /// <summary>Comma-separated host:port (or http://host:port) client endpoints of the cluster's members.</summary>
    public string? ClientEndpoints { get; set; }
    public string? ClientUsername { get; set; }
    public string? ClientPassword { get; set; }
    /// <summary>Prefix of every key, as Dapr's scheduler uses it: jobs under &lt;prefix&gt;/jobs/, progress under &lt;prefix&gt;/counters/.</summary>
    public string KeyPrefix { get; set; } = "dapr";
    /// <summary>How long start-up waits for the cluster to answer before giving up with an error.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>Deadline of one etcd request; past it the cluster counts as unreachable for that request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// How long a write or read is tried again through transient failures (a leader election, a member going away)
    /// before its caller gets the error. Longer than an election under etcd's default timeouts.
    /// </summary>
    public TimeSpan WriteRetryWindow { get; set; } = TimeSpan.FromSeconds(20);
    /// <summary>How often the cluster is asked for a quorum read, so /healthz sees a lost cluster without any write.</summary>
    public TimeSpan HealthProbeInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>How long queued progress may wait for a commit when no awaited write comes along.</summary>
    public TimeSpan ProgressFlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);
    /// <summary>
    /// Time to live of a replica's leadership lease (Dapr's 20 s): a replica that dies gives up its jobs to the others
    /// this long after its last renewal.
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(20);
    /// <summary>Most operations in one etcd transaction; etcd refuses more than its --max-txn-ops (default 128).</summary>
    public int MaxTxnOps { get; set; } = 128;
    /// <summary>Largest etcd request built, under etcd's --max-request-bytes (default 1.5 MiB).</summary>
    public int MaxTxnBytes { get; set; } = 1024 * 1024;

    public bool UseEtcd => !Embed;

    /// <summary>Dapr's flag names, mapped to configuration keys of this section.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--etcd-embed"] = $"{Section}:{nameof(Embed)}",
        ["--etcd-client-endpoints"] = $"{Section}:{nameof(ClientEndpoints)}",
        ["--etcd-client-username"] = $"{Section}:{nameof(ClientUsername)}",
        ["--etcd-client-password"] = $"{Section}:{nameof(ClientPassword)}",
    };

    /// <summary>The endpoints as http URIs; throws with a clear message when none or one is malformed.</summary>
    public IReadOnlyList<Uri> ParseEndpoints()
    {
        var parts = (ClientEndpoints ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new InvalidOperationException("--etcd-embed=false needs --etcd-client-endpoints=host:port[,host:port...] naming the etcd cluster's client endpoints.");
        var uris = new List<Uri>();
        foreach (var part in parts)
        {
            var text = part.Contains("://", StringComparison.Ordinal) ? part : "http://" + part;
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != "http" || uri.IsDefaultPort && !text.Contains(":80", StringComparison.Ordinal))
                throw new InvalidOperationException($"--etcd-client-endpoints: '{part}' is not host:port.");
            uris.Add(uri);
        }
        return uris;
    }
}
