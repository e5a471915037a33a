using Platform.Sidecar.Hosting;
using System.Net.Http.Json;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Platform.SchedulerProtocol.Admin;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>One real scheduler process shared by the integration tests; each test starts its own sidecars and apps.</summary>
public sealed class SchedulerFixture : IAsyncLifetime
{
    private GrpcChannel? _adminChannel;

    public SchedulerProcess Scheduler { get; private set; } = null!;
    /// <summary>The scheduler's own view of its jobs (progress, staged), to prove what it has and has not sent.</summary>
    public SchedulerAdmin.SchedulerAdminClient Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Scheduler = await SchedulerProcess.StartAsync();
        // As the AppHost's identity: the only one the scheduler serves its admin API.
        _adminChannel = GrpcChannel.ForAddress(Scheduler.GrpcAddress,
            new GrpcChannelOptions { HttpHandler = TestIdentity.SchedulerClientHandler(Platform.Security.SpiffeId.AppHost()) });
        Admin = new SchedulerAdmin.SchedulerAdminClient(_adminChannel);
    }

    /// <summary>The scheduler's status of the app's job <paramref name="name"/>.</summary>
    public async Task<JobStatus> JobStatusAsync(string appId, string name) =>
        Assert.Single((await Admin.ListJobStatusesAsync(new ListJobStatusesRequest { AppId = appId })).Jobs, j => j.Name == name);

    /// <summary>
    /// Waits (bounded) until the scheduler holds the job's due trigger because no sidecar of the app takes triggers:
    /// from then on it sends that app nothing, which proves absence without a quiet period.
    /// </summary>
    public Task<JobStatus> WaitForStagedAsync(string appId, string name) =>
        Poll.UntilAsync(async () => await JobStatusAsync(appId, name) is { Staged: true } status ? status : null,
            TimeSpan.FromSeconds(30), $"{appId}/{name} staged by the scheduler");

    public async Task DisposeAsync()
    {
        _adminChannel?.Dispose();
        if (Scheduler is not null) await Scheduler.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class IntegrationCollection : ICollectionFixture<SchedulerFixture>
{
    public const string Name = "sidecar + real scheduler";
}

public static class Sidecars
{
    private static int _counter;

    /// <summary>An app id no other test uses, so jobs of different tests never meet in the shared scheduler.</summary>
    public static string UniqueAppId(string prefix) => $"{prefix}-{Environment.ProcessId}-{Interlocked.Increment(ref _counter)}";

    public static async Task<SidecarProcess> StartAsync(SchedulerFixture fixture, string appId, int? appPort = null,
        string protocol = "http", IDictionary<string, string?>? environment = null, string? registry = null, bool waitForStream = true,
        IReadOnlyList<string>? extraArgs = null)
    {
        var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = appPort,
            AppProtocol = protocol,
            SchedulerHostAddress = fixture.Scheduler.HostAddress,
            Environment = environment,
            NameResolutionSqlite = registry,
            ExtraArgs = extraArgs,
        });
        if (waitForStream) await sidecar.WaitForSchedulerStreamAsync();
        return sidecar;
    }

    public static Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient GrpcClient(this SidecarProcess sidecar, string? token = null)
    {
        var channel = sidecar.Owns(GrpcChannel.ForAddress(sidecar.GrpcEndpoint));
        var invoker = token is null ? channel.CreateCallInvoker()
            : Grpc.Core.Interceptors.CallInvokerExtensions.Intercept(channel.CreateCallInvoker(), m => { m.Add("dapr-api-token", token); return m; });
        return new Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient(invoker);
    }

    public static HttpClient HttpClient(this SidecarProcess sidecar) =>
        sidecar.Owns(new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint), Timeout = TimeSpan.FromSeconds(60) });

    public static Task<HttpResponseMessage> PostJobAsync(this HttpClient http, string name, string body, string version = "v1.0") =>
        http.PostAsync($"/{version}/jobs/{name}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
}

public static class Flags
{
    /// <summary>Binds a daprd command line the way Program does: normalised flags into <see cref="SidecarOptions"/>.</summary>
    public static SidecarOptions Bind(params string[] args) =>
        new ConfigurationBuilder().AddCommandLine(SidecarFlags.Normalise(args)).Build()
            .GetSection(SidecarOptions.Section).Get<SidecarOptions>() ?? new SidecarOptions();
}

public static class ErrorAsserts
{
    /// <summary>Asserts a gRPC error with daprd's shape: code, exact message, one ErrorInfo (dapr.io, reason, appID/namespace).</summary>
    public static ErrorInfo AssertDaprError(RpcException ex, StatusCode code, string message, string reason, string? appId = null)
    {
        Assert.Equal(code, ex.StatusCode);
        Assert.Equal(message, ex.Status.Detail);
        var bytes = ex.Trailers.GetValueBytes("grpc-status-details-bin");
        Assert.NotNull(bytes);
        var status = Google.Rpc.Status.Parser.ParseFrom(bytes);
        Assert.Equal((int)code, status.Code);
        var info = Assert.Single(status.Details).Unpack<ErrorInfo>();
        Assert.Equal("dapr.io", info.Domain);
        Assert.Equal(reason, info.Reason);
        if (appId is not null)
        {
            Assert.Equal(appId, info.Metadata["appID"]);
            Assert.Equal("default", info.Metadata["namespace"]);
        }
        return info;
    }

    public sealed record HttpError(string errorCode, string message, List<HttpErrorDetail>? details);
    public sealed record HttpErrorDetail(string domain, string reason, Dictionary<string, string> metadata);

    /// <summary>Asserts daprd's HTTP error: status, JSON content type, errorCode, message, and (for kit errors) one ErrorInfo detail.</summary>
    public static async Task<HttpError> AssertHttpErrorAsync(HttpResponseMessage response, int status, string errorCode,
        string? message = null, bool kitError = true)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = System.Text.Json.JsonSerializer.Deserialize<HttpError>(text)!;
        Assert.Equal(errorCode, error.errorCode);
        if (message is not null) Assert.Equal(message, error.message);
        if (kitError)
        {
            var detail = Assert.Single(error.details!);
            Assert.Equal("dapr.io", detail.domain);
            Assert.Equal(errorCode, detail.reason);
            Assert.Contains("\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\"", text);
        }
        return error;
    }
}
