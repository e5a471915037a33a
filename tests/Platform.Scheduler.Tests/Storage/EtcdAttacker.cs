using System.Diagnostics;
using System.Text;
using System.Text.Json;
using TestSupport;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// A local process talking to the cluster behind the scheduler's back, as an attacker would with <c>etcdctl</c>: curl on
/// etcd's JSON gateway (/v3/kv/…, /v3/lease/…), each request a process of its own, with whatever TLS arguments the
/// attack has (none, no certificate, a foreign one, or the scheduler's own: a party that holds a valid identity).
/// </summary>
public static class EtcdAttacker
{
    public sealed record Result(int ExitCode, string Output);

    /// <summary>curl arguments for the holder of the cluster's client certificate (a valid identity).</summary>
    public static string[] ValidIdentity(EtcdCluster cluster) =>
        cluster.Tls ? ["--cacert", cluster.CaFile!, "--cert", cluster.ClientCertFile!, "--key", cluster.ClientKeyFile!] : [];

    /// <summary>Writes <paramref name="value"/> under <paramref name="key"/> (with a lease when given); throws unless etcd took it.</summary>
    public static async Task PutAsync(EtcdCluster cluster, string key, string value, long lease = 0)
    {
        var body = $"{{\"key\":\"{Base64(key)}\",\"value\":\"{Base64(value)}\"{(lease != 0 ? $",\"lease\":\"{lease}\"" : "")}}}";
        var result = await CurlAsync(cluster.ClientUrl() + "/v3/kv/put", body, ValidIdentity(cluster));
        if (!result.Output.Contains("\"revision\"", StringComparison.Ordinal)) throw new InvalidOperationException("put refused: " + result.Output);
    }

    /// <summary>Grants a lease of <paramref name="ttlSeconds"/> and returns its id.</summary>
    public static async Task<long> GrantLeaseAsync(EtcdCluster cluster, int ttlSeconds = 120)
    {
        var result = await CurlAsync(cluster.ClientUrl() + "/v3/lease/grant", $"{{\"TTL\":{ttlSeconds}}}", ValidIdentity(cluster));
        using var json = JsonDocument.Parse(result.Output);
        return long.Parse(json.RootElement.GetProperty("ID").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string Base64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    /// <summary>One POST by curl; bounded by curl's own timeout and the wait.</summary>
    public static async Task<Result> CurlAsync(string url, string body, string[] tlsArgs)
    {
        var psi = new ProcessStartInfo("curl");
        foreach (var a in (string[])["-sS", "-m", "10", "-X", "POST", "-d", body, .. tlsArgs, url]) psi.ArgumentList.Add(a);
        await using var curl = TestProcess.Start("curl", psi);
        var code = await curl.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return new Result(code, string.Join("\n", curl.Output));
    }
}
