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
    /// <summary>Username for etcd's own authentication. Prefer <see cref="ClientUsernameFile"/> or <see cref="UsernameVariable"/>.</summary>
    public string? ClientUsername { get; set; }
    /// <summary>
    /// Password for etcd's own authentication. On the command line it is visible to every local user (<c>ps</c>):
    /// prefer <see cref="ClientPasswordFile"/> or the <see cref="PasswordVariable"/> environment variable.
    /// </summary>
    public string? ClientPassword { get; set; }
    /// <summary>A file holding the username (trailing line breaks ignored).</summary>
    public string? ClientUsernameFile { get; set; }
    /// <summary>A file holding the password (trailing line breaks ignored); keep it 0600.</summary>
    public string? ClientPasswordFile { get; set; }
    /// <summary>PEM certificates the members' server certificates must chain to; set, the endpoints are https.</summary>
    public string? ClientCaFile { get; set; }
    /// <summary>PEM certificate this process presents to the members (etcd's --client-cert-auth).</summary>
    public string? ClientCertFile { get; set; }
    /// <summary>PEM private key of <see cref="ClientCertFile"/>.</summary>
    public string? ClientKeyFile { get; set; }
    /// <summary>
    /// Instead of <see cref="ClientCertFile"/>: the client certificate is requested from the Sentry (<c>--sentry-address</c>,
    /// with this process's bootstrap token) for its etcd client identity, its key made in memory, renewed before 70 %
    /// of its life. <see cref="ClientCaFile"/> is etcd's CA, which that certificate must chain to.
    /// </summary>
    public bool ClientCertFromSentry { get; set; }
    /// <summary>The identity obtained for <see cref="ClientCertFromSentry"/> (not bound from configuration).</summary>
    internal Platform.Security.WorkloadIdentity? ClientIdentity { get; set; }
    /// <summary>
    /// The replicas that may take part in the elections, as <c>id=host:port,…</c> (the address each one announces). Set,
    /// a leadership record of another id, or naming another address, is ignored. Empty: any id, any address.
    /// </summary>
    public string? Replicas { get; set; }
    /// <summary>Most replicas a leadership record may count; a record agreeing to more is ignored.</summary>
    public int MaxReplicas { get; set; } = 16;
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

    /// <summary>Environment variable read for the username when neither the flag nor the file gives one.</summary>
    public const string UsernameVariable = "DAPR_SCHEDULER_ETCD_CLIENT_USERNAME";
    /// <summary>Environment variable read for the password when neither the flag nor the file gives one.</summary>
    public const string PasswordVariable = "DAPR_SCHEDULER_ETCD_CLIENT_PASSWORD";

    /// <summary>True when the members are reached over TLS: a CA or client certificate is given, or an endpoint says https.</summary>
    public bool UseTls => !string.IsNullOrEmpty(ClientCaFile) || !string.IsNullOrEmpty(ClientCertFile) || ClientCertFromSentry
        || (ClientEndpoints ?? "").Contains("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Dapr's flag names, mapped to configuration keys of this section.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--etcd-embed"] = $"{Section}:{nameof(Embed)}",
        ["--etcd-client-endpoints"] = $"{Section}:{nameof(ClientEndpoints)}",
        ["--etcd-client-username"] = $"{Section}:{nameof(ClientUsername)}",
        ["--etcd-client-password"] = $"{Section}:{nameof(ClientPassword)}",
        ["--etcd-client-username-file"] = $"{Section}:{nameof(ClientUsernameFile)}",
        ["--etcd-client-password-file"] = $"{Section}:{nameof(ClientPasswordFile)}",
        ["--etcd-client-ca-file"] = $"{Section}:{nameof(ClientCaFile)}",
        ["--etcd-client-cert-file"] = $"{Section}:{nameof(ClientCertFile)}",
        ["--etcd-client-key-file"] = $"{Section}:{nameof(ClientKeyFile)}",
        ["--etcd-client-cert-from-sentry"] = $"{Section}:{nameof(ClientCertFromSentry)}",
        ["--etcd-replicas"] = $"{Section}:{nameof(Replicas)}",
        ["--etcd-max-replicas"] = $"{Section}:{nameof(MaxReplicas)}",
    };

    /// <summary>
    /// The username and password to authenticate with: each from its flag, else its file, else its environment
    /// variable; null username when none is given. Throws naming the file when one cannot be read.
    /// </summary>
    public (string? Username, string? Password) ResolveCredentials()
    {
        var username = First(ClientUsername, ClientUsernameFile, "--etcd-client-username-file", UsernameVariable);
        var password = First(ClientPassword, ClientPasswordFile, "--etcd-client-password-file", PasswordVariable);
        return (username, password);
    }

    private static string? First(string? value, string? file, string flag, string variable)
    {
        if (!string.IsNullOrEmpty(value)) return value;
        if (!string.IsNullOrEmpty(file))
        {
            try { return File.ReadAllText(file).TrimEnd('\r', '\n'); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"{flag}: cannot read {file}: {e.Message}", e);
            }
        }
        var env = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(env) ? null : env;
    }

    /// <summary>
    /// <see cref="Replicas"/> as id → announced address; empty when not set. Throws naming the flag when an entry is
    /// not <c>id=host:port</c>, or an id comes twice.
    /// </summary>
    public IReadOnlyDictionary<string, string> ParseReplicas()
    {
        var replicas = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in (Replicas ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = entry.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0 || !IsHostPort(entry[(at + 1)..]) || !replicas.TryAdd(entry[..at], entry[(at + 1)..]))
                throw new InvalidOperationException($"--etcd-replicas: '{entry}' is not id=host:port, or names an id twice.");
        }
        if (MaxReplicas < 1) throw new InvalidOperationException($"--etcd-max-replicas {MaxReplicas}: want at least 1.");
        return replicas;
    }

    /// <summary>host:port with a port in range: the form of an address a replica announces.</summary>
    public static bool IsHostPort(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0 && int.TryParse(address[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            && port is > 0 and <= 65535 && Uri.CheckHostName(address[..colon].Trim('[', ']')) != UriHostNameType.Unknown;
    }

    /// <summary>The endpoints as http (https with TLS) URIs; throws with a clear message when none or one is malformed.</summary>
    public IReadOnlyList<Uri> ParseEndpoints()
    {
        var parts = (ClientEndpoints ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new InvalidOperationException("--etcd-embed=false needs --etcd-client-endpoints=host:port[,host:port...] naming the etcd cluster's client endpoints.");
        var uris = new List<Uri>();
        foreach (var part in parts)
        {
            var scheme = UseTls ? "https" : "http";
            var text = part.Contains("://", StringComparison.Ordinal) ? part : scheme + "://" + part;
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.IsDefaultPort && !text.Contains(uri.Scheme == "http" ? ":80" : ":443", StringComparison.Ordinal))
                throw new InvalidOperationException($"--etcd-client-endpoints: '{part}' is not host:port.");
            // Certificates given for a member reached in plain text would protect nothing: refuse the mix.
            if (uri.Scheme != scheme)
                throw new InvalidOperationException($"--etcd-client-endpoints: '{part}' is plain http, but TLS is configured (--etcd-client-ca-file or --etcd-client-cert-file).");
            uris.Add(uri);
        }
        return uris;
    }
}
