using System.Text.Json;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Proto = Dapr.Client.Autogen.Grpc.v1;

namespace Platform.Jobs;

/// <summary>
/// Builds a <see cref="DaprJobsClient"/>. The sidecar's gRPC address comes from <c>DAPR_GRPC_ENDPOINT</c>, else
/// <c>http://localhost:$DAPR_GRPC_PORT</c>, else <c>http://localhost:50001</c>; the API token from <c>DAPR_API_TOKEN</c>.
/// Configuration is consulted first, then the process environment.
/// </summary>
public sealed class DaprJobsClientBuilder
{
    public const int DefaultGrpcPort = 50001;
    public const int DefaultHttpPort = 3500;

    private GrpcChannelOptions _channelOptions = new() { ThrowOperationCanceledOnCancellation = true };

    public DaprJobsClientBuilder(IConfiguration? configuration = null)
    {
        GrpcEndpoint = ResolveEndpoint(configuration, "DAPR_GRPC_ENDPOINT", "DAPR_GRPC_PORT", DefaultGrpcPort);
        HttpEndpoint = ResolveEndpoint(configuration, "DAPR_HTTP_ENDPOINT", "DAPR_HTTP_PORT", DefaultHttpPort);
        DaprApiToken = Read(configuration, "DAPR_API_TOKEN");
    }

    public string GrpcEndpoint { get; private set; }

    /// <summary>Kept for shape compatibility; the Jobs API is gRPC only.</summary>
    public string HttpEndpoint { get; private set; }

    public string? DaprApiToken { get; private set; }

    public TimeSpan? Timeout { get; private set; }

    public JsonSerializerOptions JsonSerializerOptions { get; private set; } = new(JsonSerializerDefaults.Web);

    public DaprJobsClientBuilder UseGrpcEndpoint(string grpcEndpoint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(grpcEndpoint);
        GrpcEndpoint = grpcEndpoint;
        return this;
    }

    public DaprJobsClientBuilder UseHttpEndpoint(string httpEndpoint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(httpEndpoint);
        HttpEndpoint = httpEndpoint;
        return this;
    }

    public DaprJobsClientBuilder UseDaprApiToken(string? daprApiToken)
    {
        DaprApiToken = daprApiToken;
        return this;
    }

    /// <summary>A deadline applied to every call.</summary>
    public DaprJobsClientBuilder UseTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        Timeout = timeout;
        return this;
    }

    public DaprJobsClientBuilder UseGrpcChannelOptions(GrpcChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _channelOptions = options;
        return this;
    }

    public DaprJobsClientBuilder UseJsonSerializationOptions(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        JsonSerializerOptions = options;
        return this;
    }

    /// <exception cref="InvalidOperationException">The endpoint is not an absolute http/https URI.</exception>
    public DaprJobsClient Build()
    {
        if (!Uri.TryCreate(GrpcEndpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new InvalidOperationException($"The Dapr gRPC endpoint '{GrpcEndpoint}' must be an absolute http or https URI.");
        var channel = GrpcChannel.ForAddress(uri, _channelOptions);
        return new DaprJobsGrpcClient(new Proto.Dapr.DaprClient(channel), DaprApiToken, Timeout, channel);
    }

    private static string ResolveEndpoint(IConfiguration? configuration, string endpointKey, string portKey, int defaultPort)
    {
        var endpoint = Read(configuration, endpointKey);
        if (!string.IsNullOrWhiteSpace(endpoint)) return endpoint;
        var port = Read(configuration, portKey);
        return int.TryParse(port, out var p) && p > 0 ? $"http://localhost:{p}" : $"http://localhost:{defaultPort}";
    }

    private static string? Read(IConfiguration? configuration, string key)
    {
        var value = configuration?[key];
        return string.IsNullOrWhiteSpace(value) ? Environment.GetEnvironmentVariable(key) : value;
    }
}
