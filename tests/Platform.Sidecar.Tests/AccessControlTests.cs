using System.Net;
using System.Text.Json;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Grpc.Core;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// Service invocation under a Dapr Configuration's accessControl, and per-app tokens: each sidecar has its own token,
/// sidecars prove themselves to each other by certificate, and a call the policy does not allow gets daprd's 403.
/// </summary>
public sealed class AccessControlTests(AccessControlFixture f) : IClassFixture<AccessControlFixture>
{
    [Fact]
    public async Task Sidecars_with_their_own_tokens_invoke_each_other_by_certificate_and_no_token_crosses_apps()
    {
        using var http = Client(f.Caller, AccessControlFixture.CallerToken);
        using var response = await http.GetAsync($"/v1.0/invoke/{f.CalleeId}/method/public?x=1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = await NextAsync("/public");
        // The app gets its own sidecar's APP_API_TOKEN, the caller proven by certificate, and never the caller's token.
        Assert.Equal(AccessControlFixture.CalleeAppToken, seen.Headers["dapr-api-token"]);
        Assert.Equal(f.CallerId, seen.Headers["dapr-caller-app-id"]);
        Assert.DoesNotContain(seen.Headers.Values, v => v.Contains(AccessControlFixture.CallerToken, StringComparison.Ordinal));

        // A rogue app's token opens nothing on another app's sidecar: HTTP, gRPC, and invocation through it.
        using var rogue = Client(f.Caller, AccessControlFixture.RogueToken);
        using var metadata = await rogue.GetAsync("/v1.0/metadata");
        Assert.Equal(HttpStatusCode.Unauthorized, metadata.StatusCode);
        Assert.Equal("invalid api token", await metadata.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await rogue.GetAsync($"/v1.0/invoke/{f.CalleeId}/method/public")).StatusCode);
        var grpc = await Assert.ThrowsAsync<RpcException>(() => f.Caller.GrpcClient(AccessControlFixture.RogueToken).GetMetadataAsync(new GetMetadataRequest()).ResponseAsync);
        Assert.Equal((StatusCode.Unauthenticated, "authentication error: api token mismatch"), (grpc.StatusCode, grpc.Status.Detail));
    }

    [Fact]
    public async Task A_denied_invocation_gets_daprds_403_and_message_and_never_reaches_the_app()
    {
        using var caller = Client(f.Caller, AccessControlFixture.CallerToken);
        using var rogue = Client(f.Rogue, AccessControlFixture.RogueToken);
        var callerSpiffe = $"spiffe://public/ns/default/{f.CallerId}";
        var rogueSpiffe = $"spiffe://public/ns/default/{f.RogueId}";
        var cases = new (HttpClient Client, HttpMethod Verb, string Method, string Operation, string Id)[]
        {
            (caller, HttpMethod.Get, "admin", "admin", callerSpiffe),                       // no rule: the policy's deny
            (caller, HttpMethod.Post, "things/1", "things/1", callerSpiffe),                // rule, but not for POST
            (caller, HttpMethod.Get, "things/1/deeper", "things/1/deeper", callerSpiffe),   // '*' is one segment
            (caller, HttpMethod.Get, "public%2F..%2Fadmin", "admin", callerSpiffe),         // checked as the app would see it
            (rogue, HttpMethod.Get, "public", "public", rogueSpiffe),                       // no policy: the global deny
        };
        foreach (var (client, verb, method, operation, id) in cases)
        {
            using var response = await client.SendAsync(new HttpRequestMessage(verb, $"/v1.0/invoke/{f.CalleeId}/method/{method}"));
            var error = await ErrorAsserts.AssertHttpErrorAsync(response, 403, "ERR_DIRECT_INVOKE", kitError: false);
            Assert.Equal($"failed to invoke, id: {f.CalleeId}, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: {id} operation: {operation} verb: {verb.Method}", error.message);
        }

        // gRPC InvokeService: without an HTTP verb even an allowed path takes the policy's default action (daprd's rule).
        var denied = await Assert.ThrowsAsync<RpcException>(() => f.Caller.GrpcClient(AccessControlFixture.CallerToken).InvokeServiceAsync(
            new InvokeServiceRequest { Id = f.CalleeId, Message = new InvokeRequest { Method = "public" } }).ResponseAsync);
        Assert.Equal(StatusCode.Internal, denied.StatusCode);
        Assert.Equal($"failed to invoke, id: {f.CalleeId}, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: {callerSpiffe} operation: public verb: NONE", denied.Status.Detail);

        // A method daprd refuses to normalize is refused before any policy.
        using var invalid = await caller.GetAsync($"/v1.0/invoke/{f.CalleeId}/method/public%3Fx");
        Assert.Equal(HttpStatusCode.InternalServerError, invalid.StatusCode);
        Assert.Contains("code = InvalidArgument desc = invalid method: method contains forbidden character", await invalid.Content.ReadAsStringAsync());

        Assert.False(f.CalleeApp.Other.Reader.TryRead(out var leaked), $"a refused call reached the app: {leaked?.Method} {leaked?.Path}");
    }

    [Fact]
    public async Task Allowed_operations_pass_as_daprd_matches_them()
    {
        using var caller = Client(f.Caller, AccessControlFixture.CallerToken);
        foreach (var (verb, method, arrives) in new[]
        {
            (HttpMethod.Delete, "public", "/public"),                  // httpVerb '*'
            (HttpMethod.Get, "things/42", "/things/42"),
            (HttpMethod.Get, "THINGS/42", "/THINGS/42"),               // HTTP apps: names compare case-insensitively
            (HttpMethod.Get, "admin%2F..%2Fpublic", "/public"),        // normalized, and delivered as checked
        })
        {
            using var response = await caller.SendAsync(new HttpRequestMessage(verb, $"/v1.0/invoke/{f.CalleeId}/method/{method}"));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{verb} {method}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal(arrives, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("path").GetString());
            await NextAsync(arrives);
        }
        var invoked = await f.Caller.GrpcClient(AccessControlFixture.CallerToken).InvokeServiceAsync(new InvokeServiceRequest
        {
            Id = f.CalleeId,
            Message = new InvokeRequest
            {
                Method = "public", ContentType = "text/plain", Data = new Google.Protobuf.WellKnownTypes.Any { Value = ByteString.CopyFromUtf8("x") },
                HttpExtension = new HTTPExtension { Verb = HTTPExtension.Types.Verb.Post },
            },
        });
        Assert.Equal("/public", JsonDocument.Parse(invoked.Data.Value.ToStringUtf8()).RootElement.GetProperty("path").GetString());
        await NextAsync("/public");
    }

    private static HttpClient Client(SidecarProcess sidecar, string token)
    {
        var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("dapr-api-token", token);
        return http;
    }

    private async Task<ReceivedHttp> NextAsync(string path)
    {
        var seen = await f.CalleeApp.Other.NextAsync(TimeSpan.FromSeconds(10), "invoked request");
        Assert.Equal(path, seen.Path);
        return seen;
    }
}
