using System.Net;
using System.Text.Json;
using Dapr.Client;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Grpc.Core;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>Service invocation between two real sidecars and API token enforcement.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class InvocationAndTokenTests(SchedulerFixture fixture) : IDisposable
{
    private readonly string _registry = Path.Combine(Path.GetTempPath(), $"sidecar-registry-{Guid.NewGuid():N}.db");

    [Fact]
    public async Task Dapr_client_invoke_http_client_reaches_the_other_app_through_both_sidecars()
    {
        await using var calleeApp = await HttpTestApp.StartAsync();
        var callerId = Sidecars.UniqueAppId("caller");
        var calleeId = Sidecars.UniqueAppId("callee");
        await using var caller = await Sidecars.StartAsync(fixture, callerId, registry: _registry, waitForStream: false);
        await using var callee = await Sidecars.StartAsync(fixture, calleeId, calleeApp.Port, registry: _registry, waitForStream: false,
            environment: new Dictionary<string, string?> { ["APP_API_TOKEN"] = "callee-app-token" });

        // Exactly as an app would: Dapr.Client's invoke HttpClient pointed at its own sidecar.
        using var client = DaprClient.CreateInvokeHttpClient(calleeId, caller.HttpEndpoint);
        using var request = new HttpRequestMessage(HttpMethod.Put, $"http://{calleeId}/things/42?x=1&y=two")
        {
            Content = new StringContent("{\"a\":1}", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-custom", "kept");
        request.Headers.Add("x-status", "201");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("yes", response.Headers.GetValues("x-echo").Single());
        var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("PUT", echo.GetProperty("method").GetString());
        Assert.Equal("/things/42", echo.GetProperty("path").GetString());
        Assert.Equal("?x=1&y=two", echo.GetProperty("query").GetString());
        Assert.Equal("{\"a\":1}", echo.GetProperty("body").GetString());

        var seen = await calleeApp.Other.NextAsync(TimeSpan.FromSeconds(10), "invoked request");
        Assert.Equal("kept", seen.Headers["x-custom"]);
        Assert.Equal("application/json; charset=utf-8", seen.Headers["content-type"]);
        Assert.Equal("callee-app-token", seen.Headers["dapr-api-token"]);
        Assert.Equal(callerId, seen.Headers["dapr-caller-app-id"]);

        // The dapr-app-id header form, and gRPC InvokeService, reach the same app.
        using var http = caller.HttpClient();
        using var headerForm = new HttpRequestMessage(HttpMethod.Get, "/hello/world?q=1");
        headerForm.Headers.Add("dapr-app-id", calleeId);
        using var headerResponse = await http.SendAsync(headerForm);
        Assert.Equal(HttpStatusCode.OK, headerResponse.StatusCode);
        Assert.Equal("/hello/world", JsonDocument.Parse(await headerResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("path").GetString());

        var invoked = await caller.GrpcClient().InvokeServiceAsync(new InvokeServiceRequest
        {
            Id = calleeId,
            Message = new InvokeRequest
            {
                Method = "grpc/path", ContentType = "text/plain",
                Data = new Google.Protobuf.WellKnownTypes.Any { Value = ByteString.CopyFromUtf8("ping") },
                HttpExtension = new HTTPExtension { Verb = HTTPExtension.Types.Verb.Post, Querystring = "k=v" },
            },
        });
        var grpcEcho = JsonDocument.Parse(invoked.Data.Value.ToStringUtf8()).RootElement;
        Assert.Equal(("/grpc/path", "?k=v", "ping"), (grpcEcho.GetProperty("path").GetString(), grpcEcho.GetProperty("query").GetString(), grpcEcho.GetProperty("body").GetString()));
        Assert.StartsWith("application/json", invoked.ContentType);

        // The method travels as the caller escaped it: each hop decodes once, so an escaped '%' or a trailing space
        // reaches the app as sent, never as another name ("canary%2520" once arrived as "canary").
        foreach (var (sent, arrives) in new[] { ("things/canary%2520", "/things/canary%20"), ("things/canary%20", "/things/canary "), ("a%3Fb%23c", "/a?b#c") })
        {
            using var escaped = await http.GetAsync($"/v1.0/invoke/{calleeId}/method/{sent}");
            Assert.Equal(HttpStatusCode.OK, escaped.StatusCode);
            Assert.Equal(arrives, JsonDocument.Parse(await escaped.Content.ReadAsStringAsync()).RootElement.GetProperty("path").GetString());
            using var escapedHeaderForm = new HttpRequestMessage(HttpMethod.Get, "/" + sent);
            escapedHeaderForm.Headers.Add("dapr-app-id", calleeId);
            using var escapedHeaderResponse = await http.SendAsync(escapedHeaderForm);
            Assert.Equal(arrives, JsonDocument.Parse(await escapedHeaderResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("path").GetString());
        }

        // Invoking its own app id goes straight to its app.
        using var self = await callee.HttpClient().PostAsync($"/v1.0/invoke/{calleeId}/method/self/call", new StringContent("me"));
        Assert.Equal(HttpStatusCode.OK, self.StatusCode);
        Assert.Equal("/self/call", JsonDocument.Parse(await self.Content.ReadAsStringAsync()).RootElement.GetProperty("path").GetString());

        // An unknown app id is a daprd-style error.
        using var unknown = await http.GetAsync("/v1.0/invoke/nobody-here/method/x");
        Assert.Equal(HttpStatusCode.InternalServerError, unknown.StatusCode);
        Assert.Contains("ERR_DIRECT_INVOKE", await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Api_token_is_required_on_http_and_grpc_when_configured()
    {
        var appId = Sidecars.UniqueAppId("token");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId, waitForStream: false,
            environment: new Dictionary<string, string?> { ["DAPR_API_TOKEN"] = "s3cret" });
        using var http = sidecar.HttpClient();

        foreach (var token in new[] { null, "wrong" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1.0/jobs/t") { Content = new StringContent("{}") };
            if (token is not null) request.Headers.Add("dapr-api-token", token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("invalid api token", await response.Content.ReadAsStringAsync());
        }
        using (var ok = new HttpRequestMessage(HttpMethod.Post, "/v1.0/jobs/t") { Content = new StringContent("{}") })
        {
            ok.Headers.Add("dapr-api-token", "s3cret");
            Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(ok)).StatusCode); // past auth: Schedule is empty
        }
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1.0/metadata")).StatusCode);

        var missing = await Assert.ThrowsAsync<RpcException>(() => sidecar.GrpcClient().GetMetadataAsync(new GetMetadataRequest()).ResponseAsync);
        Assert.Equal((StatusCode.Unauthenticated, "missing api token in request metadata"), (missing.StatusCode, missing.Status.Detail));
        var wrong = await Assert.ThrowsAsync<RpcException>(() => sidecar.GrpcClient("nope").GetMetadataAsync(new GetMetadataRequest()).ResponseAsync);
        Assert.Equal((StatusCode.Unauthenticated, "authentication error: api token mismatch"), (wrong.StatusCode, wrong.Status.Detail));
        Assert.Equal(appId, (await sidecar.GrpcClient("s3cret").GetMetadataAsync(new GetMetadataRequest())).Id);

        // No way around the token: the HTTP routes over h2c on the gRPC port; the sidecar-to-sidecar route is not on
        // the HTTP port at all with mTLS on (it is the internal port's, see SidecarIdentityTests).
        using var h2c = new HttpClient { BaseAddress = new Uri(sidecar.GrpcEndpoint), DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.Equal(HttpStatusCode.NotFound, (await h2c.GetAsync("/v1.0/metadata")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h2c.PostAsync("/v1.0/jobs/t", new StringContent("{\"schedule\":\"@daily\"}"))).StatusCode);
        using var internalCall = await http.PostAsync($"/v1.0-internal/invoke/{appId}/method/anything", new StringContent("x"));
        Assert.Equal(HttpStatusCode.NotFound, internalCall.StatusCode);
    }

    [Fact]
    public async Task Sidecars_sharing_a_token_invoke_each_other_and_the_internal_route_relays_nothing()
    {
        const string token = "run-token";
        var tokens = new Dictionary<string, string?> { ["DAPR_API_TOKEN"] = token, ["APP_API_TOKEN"] = "app-token" };
        await using var calleeApp = await HttpTestApp.StartAsync();
        var callerId = Sidecars.UniqueAppId("caller");
        var calleeId = Sidecars.UniqueAppId("callee");
        await using var caller = await Sidecars.StartAsync(fixture, callerId, registry: _registry, waitForStream: false, environment: tokens);
        await using var callee = await Sidecars.StartAsync(fixture, calleeId, calleeApp.Port, registry: _registry, waitForStream: false, environment: tokens);

        using var client = DaprClient.CreateInvokeHttpClient(calleeId, caller.HttpEndpoint, token);
        using var response = await client.GetAsync($"http://{calleeId}/through/both");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = await calleeApp.Other.NextAsync(TimeSpan.FromSeconds(10), "invoked request");
        Assert.Equal("app-token", seen.Headers["dapr-api-token"]);

        // With the caller's certificate and the token, the internal route still delivers to its own app only: it is no
        // relay to a third app.
        using var http = new HttpClient(TestIdentity.Identity(TestIdentity.App(callerId)).CreateHandler(id => id.AppId == calleeId))
        {
            BaseAddress = new Uri($"https://127.0.0.1:{callee.InternalPort}"),
        };
        using var relay = new HttpRequestMessage(HttpMethod.Get, $"/v1.0-internal/invoke/{callerId}/method/x");
        relay.Headers.Add("dapr-api-token", token);
        using var refused = await http.SendAsync(relay);
        Assert.Equal(HttpStatusCode.InternalServerError, refused.StatusCode);
        Assert.Contains($"this sidecar serves app {calleeId} only", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Sigterm_stops_cleanly_and_deregisters_from_the_registry()
    {
        var appId = Sidecars.UniqueAppId("shutdown");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId, registry: _registry);
        await using var probe = await Sidecars.StartAsync(fixture, appId + "-probe", registry: _registry, waitForStream: false);
        using var http = probe.HttpClient();
        // Registered: invoking it reaches its sidecar (which has no app, so the call fails there, not at resolution).
        var before = await (await http.GetAsync($"/v1.0/invoke/{appId}/method/x")).Content.ReadAsStringAsync();
        Assert.Contains("app channel not initialized", before);

        Assert.Equal(0, await sidecar.StopAsync(TimeSpan.FromSeconds(15)));
        var after = await (await http.GetAsync($"/v1.0/invoke/{appId}/method/x")).Content.ReadAsStringAsync();
        Assert.Contains($"couldn't find service: {appId}", after);
    }

    public void Dispose()
    {
        foreach (var f in new[] { _registry, _registry + "-wal", _registry + "-shm" })
            try { File.Delete(f); } catch (IOException) { }
    }
}
