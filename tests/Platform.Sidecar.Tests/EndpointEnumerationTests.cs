using System.Net;
using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// The token and access checks over every endpoint the sidecar maps, as it states them from its endpoint data source
/// (debug log), and every method of every gRPC service it serves, from the service's descriptor: a route or method
/// added later is walked without editing this test. The only exemptions are by design and named here: the health
/// probes, the gRPC reflection service (it describes the API, it holds no data) and the sidecar-to-sidecar route,
/// which lives on the internal port behind certificates and access control.
/// </summary>
public sealed partial class EndpointEnumerationTests(AccessControlFixture f) : IClassFixture<AccessControlFixture>
{
    private static readonly string[] OpenHttp = ["/v1.0/healthz", "/v1.0/healthz/outbound"];
    private const string InternalPrefix = "/v1.0-internal/";
    private const string Reflection = "grpc.reflection.";

    /// <summary>The descriptors of the services the sidecar may serve; a service missing here fails the test until added.</summary>
    private static readonly Dictionary<string, ServiceDescriptor> Descriptors = new[]
    {
        Dapr.Client.Autogen.Grpc.v1.Dapr.Descriptor,
        Grpc.Reflection.V1Alpha.ServerReflection.Descriptor,
        Grpc.Reflection.V1.ServerReflection.Descriptor,
    }.ToDictionary(d => d.FullName);

    [Fact]
    public void The_sidecar_is_configured_by_flags_alone_and_watches_no_settings_file() =>
        // A settings file reloaded on change would put a watcher over the working directory.
        Assert.Equal(0, ProcessProbe.InotifyInstances(f.Callee.Process.Id));

    [GeneratedRegex(@"Endpoint (?<kind>http|grpc) (?<methods>\S+) (?<pattern>\S+)")]
    private static partial Regex EndpointLine();

    private sealed record Endpoint(string Kind, string[] Methods, string Pattern);

    private IReadOnlyList<Endpoint> Endpoints()
    {
        var endpoints = f.Callee.Process.Output.Select(l => EndpointLine().Match(l)).Where(m => m.Success)
            .Select(m => new Endpoint(m.Groups["kind"].Value, m.Groups["methods"].Value.Split(','), m.Groups["pattern"].Value))
            .Distinct().ToList();
        // The walk proves something only if the sidecar stated its routes: the known ones must be among them.
        Assert.Contains(endpoints, e => e.Pattern == "/v1.0/metadata");
        Assert.Contains(endpoints, e => e.Kind == "grpc" && e.Pattern.StartsWith("/dapr.proto.runtime.v1.Dapr/", StringComparison.Ordinal));
        return endpoints;
    }

    /// <summary>A concrete path for a route pattern: each parameter a plain value, a catch-all two segments.</summary>
    private static string PathOf(string pattern) =>
        Regex.Replace(pattern, @"\{(\*\*?)?(?<name>[^}:=?]+)[^}]*\}", m => m.Groups[1].Success ? "probe/path" : "probe-" + m.Groups["name"].Value.ToLowerInvariant());

    private static IEnumerable<string> VerbsOf(Endpoint e) => e.Methods is ["*"] ? ["GET", "POST", "PUT", "DELETE", "PATCH"] : e.Methods;

    [Fact]
    public async Task Every_http_route_needs_this_apps_token_on_the_http_port_and_none_is_served_over_h2c()
    {
        using var http = new HttpClient { BaseAddress = new Uri(f.Callee.HttpEndpoint), Timeout = TimeSpan.FromSeconds(30) };
        using var h2c = new HttpClient
        {
            BaseAddress = new Uri(f.Callee.GrpcEndpoint), DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(30),
        };
        var walked = 0;
        foreach (var endpoint in Endpoints().Where(e => e.Kind == "http"))
        {
            var path = PathOf(endpoint.Pattern);
            foreach (var verb in VerbsOf(endpoint))
            {
                foreach (var token in new string?[] { null, AccessControlFixture.CallerToken, AccessControlFixture.RogueToken })
                {
                    using var response = await SendAsync(http, verb, path, token);
                    var body = await response.Content.ReadAsStringAsync();
                    var what = $"{verb} {path} (route {endpoint.Pattern}) with {token ?? "no token"}: {(int)response.StatusCode} {body}";
                    if (OpenHttp.Contains(endpoint.Pattern)) Assert.True(response.IsSuccessStatusCode, what);
                    else if (endpoint.Pattern.StartsWith(InternalPrefix, StringComparison.Ordinal))
                        Assert.True(response.StatusCode == HttpStatusCode.NotFound && body.Length == 0, what); // not on this port
                    else
                    {
                        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, what);
                        Assert.Equal("invalid api token", body);
                    }
                    walked++;
                }
                using var overH2c = await SendAsync(h2c, verb, path, AccessControlFixture.CalleeToken);
                // The gRPC port answers plain HTTP with a client error (404 from the sidecar, 400 from Kestrel for some), never a route.
                Assert.True((int)overH2c.StatusCode is >= 400 and < 500 && overH2c.StatusCode != HttpStatusCode.MethodNotAllowed,
                    $"{verb} {path} over h2c on the gRPC port: {(int)overH2c.StatusCode}");
            }
        }
        Assert.True(walked > 20, $"only {walked} requests walked");
    }

    [Fact]
    public async Task Every_grpc_method_of_every_served_service_needs_this_apps_token()
    {
        using var channel = GrpcChannel.ForAddress(f.Callee.GrpcEndpoint);
        var invoker = channel.CreateCallInvoker();
        var grpc = Endpoints().Where(e => e.Kind == "grpc" && !e.Pattern.Contains('{')).Select(e => e.Pattern).ToHashSet();
        var services = grpc.Select(p => p.Split('/')[1]).Distinct().ToList();
        var walked = 0;
        foreach (var service in services)
        {
            Assert.True(Descriptors.TryGetValue(service, out var descriptor), $"the sidecar serves {service}: add its descriptor to this test");
            if (service.StartsWith(Reflection, StringComparison.Ordinal)) continue;
            foreach (var method in descriptor!.Methods)
            {
                var bound = grpc.Contains($"/{service}/{method.Name}");
                foreach (var token in new string?[] { null, AccessControlFixture.CallerToken, AccessControlFixture.RogueToken })
                {
                    var status = await CallAsync(invoker, service, method, token);
                    // A served method refuses before anything else; one the sidecar does not serve answers UNIMPLEMENTED.
                    var expected = bound ? StatusCode.Unauthenticated : StatusCode.Unimplemented;
                    Assert.True(status.StatusCode == expected, $"/{service}/{method.Name} with {token ?? "no token"}: {status}");
                    if (bound)
                        Assert.Equal(token is null ? "missing api token in request metadata" : "authentication error: api token mismatch", status.Detail);
                    walked++;
                }
            }
        }
        Assert.True(walked > 30, $"only {walked} calls walked");
    }

    [Fact]
    public async Task On_the_internal_port_a_peer_without_a_policy_reaches_no_route()
    {
        using var rogue = new HttpClient(TestIdentity.Identity(TestIdentity.App(f.RogueId)).CreateHandler(id => id.AppId == f.CalleeId))
        {
            BaseAddress = new Uri($"https://127.0.0.1:{f.Callee.InternalPort}"), Timeout = TimeSpan.FromSeconds(30),
        };
        foreach (var endpoint in Endpoints().Where(e => e.Kind == "http"))
        {
            var path = PathOf(endpoint.Pattern).Replace("probe-appid", f.CalleeId, StringComparison.Ordinal);
            foreach (var verb in VerbsOf(endpoint))
            {
                using var response = await SendAsync(rogue, verb, path, AccessControlFixture.CalleeToken);
                var what = $"{verb} {path} (route {endpoint.Pattern}) on the internal port: {(int)response.StatusCode}";
                if (endpoint.Pattern.StartsWith(InternalPrefix, StringComparison.Ordinal))
                    await ErrorAsserts.AssertHttpErrorAsync(response, 403, "ERR_DIRECT_INVOKE", kitError: false);
                else Assert.True(response.StatusCode == HttpStatusCode.NotFound, what);
            }
        }
        Assert.False(f.CalleeApp.Other.Reader.TryRead(out var leaked), $"a refused call reached the app: {leaked?.Method} {leaked?.Path}");
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string verb, string path, string? token)
    {
        var request = new HttpRequestMessage(new HttpMethod(verb), path);
        if (verb is "POST" or "PUT" or "PATCH") request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        if (token is not null) request.Headers.Add("dapr-api-token", token);
        return await client.SendAsync(request);
    }

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>
    /// Calls a method with one empty message, whatever its declared shape (on the wire every call is one HTTP/2
    /// request), and returns the status it ends with.
    /// </summary>
    private static async Task<Status> CallAsync(CallInvoker invoker, string service, MethodDescriptor method, string? token)
    {
        var headers = new Metadata();
        if (token is not null) headers.Add("dapr-api-token", token);
        var definition = new Method<byte[], byte[]>(MethodType.Unary, service, method.Name, Bytes, Bytes);
        try
        {
            await invoker.AsyncUnaryCall(definition, null, new CallOptions(headers, DateTime.UtcNow.AddSeconds(20)), []).ResponseAsync;
            return Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }
}
