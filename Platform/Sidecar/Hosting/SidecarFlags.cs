using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Platform.Sidecar.Hosting;

/// <summary>Maps daprd's flag names and environment variables onto <see cref="SidecarOptions"/>.</summary>
public static class SidecarFlags
{
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--app-id"] = "Sidecar:AppId",
        ["--app-port"] = "Sidecar:AppPort",
        ["--app-protocol"] = "Sidecar:AppProtocol",
        ["--app-channel-address"] = "Sidecar:AppChannelAddress",
        ["--dapr-http-port"] = "Sidecar:DaprHttpPort",
        ["--dapr-grpc-port"] = "Sidecar:DaprGrpcPort",
        ["--scheduler-host-address"] = "Sidecar:SchedulerHostAddress",
        ["--dapr-listen-addresses"] = "Sidecar:DaprListenAddresses",
        ["--log-level"] = "Sidecar:LogLevel",
        ["--name-resolution-sqlite"] = "Sidecar:NameResolutionSqlite",
        ["--enable-app-health-check"] = "Sidecar:EnableAppHealthCheck",
        ["--app-health-check-path"] = "Sidecar:AppHealthCheckPath",
        ["--app-health-probe-interval"] = "Sidecar:AppHealthProbeInterval",
        ["--app-health-probe-timeout"] = "Sidecar:AppHealthProbeTimeout",
        ["--app-health-threshold"] = "Sidecar:AppHealthThreshold",
        ["--enable-metrics"] = "Sidecar:EnableMetrics",
        ["--metrics-port"] = "Sidecar:MetricsPort",
        ["--metrics-listen-address"] = "Sidecar:MetricsListenAddress",
        ["--max-body-size"] = "Sidecar:MaxBodySize",
        ["--dapr-http-max-request-size"] = "Sidecar:DaprHttpMaxRequestSize",
        ["--app-job-timeout"] = "Sidecar:AppJobTimeout",
        ["--enable-mtls"] = "Sidecar:EnableMtls",
        ["--trust-anchors-file"] = "Sidecar:TrustAnchorsFile",
        ["--cert-chain-file"] = "Sidecar:CertChainFile",
        ["--cert-key-file"] = "Sidecar:CertKeyFile",
        ["--sentry-address"] = "Sidecar:SentryAddress",
        ["--control-plane-trust-domain"] = "Sidecar:ControlPlaneTrustDomain",
        ["--control-plane-namespace"] = "Sidecar:ControlPlaneNamespace",
        ["--dapr-internal-grpc-port"] = "Sidecar:DaprInternalGrpcPort",
        ["--config"] = "Sidecar:Config",
    };

    /// <summary>Boolean flags: as with Go's flag package, the bare flag means true and "--flag=false" turns it off.</summary>
    private static readonly HashSet<string> BoolFlags = ["--enable-app-health-check", "--enable-metrics", "--enable-mtls"];

    /// <summary>
    /// Normalises the command line for the configuration provider: daprd accepts "--flag value", "--flag=value",
    /// single-dash forms, and an empty value ("--scheduler-host-address ''"), which the provider would otherwise mis-pair.
    /// Unknown flags are refused, as daprd refuses them.
    /// </summary>
    public static string[] Normalise(string[] args)
    {
        var result = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith('-')) throw new ArgumentException($"unexpected argument: {a}");
            var flag = "--" + a.TrimStart('-');
            string value;
            var eq = flag.IndexOf('=');
            if (eq >= 0) { value = flag[(eq + 1)..]; flag = flag[..eq]; }
            else if (BoolFlags.Contains(flag))
                // Also take a following "true"/"false", which launchers commonly pass as a separate word.
                value = i + 1 < args.Length && bool.TryParse(args[i + 1], out _) ? args[++i] : "true";
            else if (i + 1 < args.Length) value = args[++i];
            else throw new ArgumentException($"flag needs an argument: {a}");
            if (!SwitchMappings.TryGetValue(flag, out var key)) throw new ArgumentException($"unknown flag: {flag}");
            result.Add($"--{key}={CheckValue(flag, value)}");
        }
        return [.. result];
    }

    /// <summary>
    /// Refuses values the sidecar could not use, with Go's flag wording, before anything starts; bool values are
    /// accepted in Go's forms (1, t, TRUE, …) and passed on as true/false.
    /// </summary>
    private static string CheckValue(string flag, string value)
    {
        if (BoolFlags.Contains(flag))
            return ParseGoBool(value) is { } b ? (b ? "true" : "false") : throw Invalid(flag, value, "want true or false");
        return flag switch
        {
            "--metrics-port" or "--dapr-internal-grpc-port" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
                ? value : throw Invalid(flag, value, "want a port number from 1 to 65535"),
            "--metrics-listen-address" => TryParseListenAddress(value, out _) ? value : throw Invalid(flag, value, "want an IP address or localhost"),
            "--max-body-size" => BodySize.TryParse(value, out _) ? value : throw Invalid(flag, value, "want a size such as 4Mi, 512Ki or 1048576"),
            "--dapr-http-max-request-size" or "--app-job-timeout" => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                ? value : throw Invalid(flag, value, "want a whole number"),
            _ => value,
        };
    }

    private static ArgumentException Invalid(string flag, string value, string want) =>
        new($"invalid value \"{value}\" for flag {flag}: {want}");

    /// <summary>Go's strconv.ParseBool.</summary>
    private static bool? ParseGoBool(string value) => value switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => null,
    };

    /// <summary>A listen address: an IPv4 or IPv6 address (brackets allowed) or "localhost" (IPv4 loopback).</summary>
    public static bool TryParseListenAddress(string address, [NotNullWhen(true)] out IPAddress? ip)
    {
        if (address == "localhost")
        {
            ip = IPAddress.Loopback;
            return true;
        }
        return IPAddress.TryParse(address.Trim('[', ']'), out ip);
    }

    /// <summary>Environment variables daprd reads, mapped onto the same section.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> FromEnvironment()
    {
        var ns = Environment.GetEnvironmentVariable("NAMESPACE");
        if (!string.IsNullOrEmpty(ns)) yield return new("Sidecar:Namespace", ns);
        var token = Environment.GetEnvironmentVariable("DAPR_API_TOKEN");
        if (!string.IsNullOrEmpty(token)) yield return new("Sidecar:ApiToken", token);
        var appToken = Environment.GetEnvironmentVariable("APP_API_TOKEN");
        if (!string.IsNullOrEmpty(appToken)) yield return new("Sidecar:AppApiToken", appToken);
        var controlPlaneTrustDomain = Environment.GetEnvironmentVariable("DAPR_CONTROLPLANE_TRUST_DOMAIN");
        if (!string.IsNullOrEmpty(controlPlaneTrustDomain)) yield return new("Sidecar:ControlPlaneTrustDomain", controlPlaneTrustDomain);
        var controlPlaneNamespace = Environment.GetEnvironmentVariable("DAPR_CONTROLPLANE_NAMESPACE");
        if (!string.IsNullOrEmpty(controlPlaneNamespace)) yield return new("Sidecar:ControlPlaneNamespace", controlPlaneNamespace);
    }
}
