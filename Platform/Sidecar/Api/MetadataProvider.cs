using Platform.Sidecar.AppChannel;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Scheduler;
using System.Text.Json.Nodes;
using Dapr.Client.Autogen.Grpc.v1;
using Microsoft.Extensions.Options;

namespace Platform.Sidecar.Api;

/// <summary>
/// The metadata API (HTTP /v1.0/metadata and gRPC GetMetadata): app id, app connection (with daprd's health
/// settings when app health checks are on), connected schedulers. The current app health is ours, in the extended
/// attributes as "appHealth" (healthy|unhealthy|unknown), since daprd's metadata has no field for it.
/// </summary>
public sealed class MetadataProvider(IOptions<SidecarOptions> options, SchedulerConnection scheduler, AppHealth health)
{
    public const string RuntimeVersion = "1.19.0-platform";

    public GetMetadataResponse ToGrpc()
    {
        var o = options.Value;
        var response = new GetMetadataResponse
        {
            Id = o.AppId,
            RuntimeVersion = RuntimeVersion,
            AppConnectionProperties = new AppConnectionProperties
            {
                Port = o.AppPortNumber ?? 0,
                Protocol = o.AppProtocol,
                ChannelAddress = o.AppChannelAddress,
            },
        };
        if (health.Enabled)
        {
            response.AppConnectionProperties.Health = new AppConnectionHealthProperties
            {
                HealthCheckPath = o.AppHealthCheckPath,
                HealthProbeInterval = $"{o.AppHealthProbeInterval}s",
                HealthProbeTimeout = $"{o.AppHealthProbeTimeout}ms",
                HealthThreshold = o.AppHealthThreshold,
            };
            response.ExtendedMetadata["appHealth"] = HealthText;
        }
        if (scheduler.Enabled)
            response.Scheduler = new MetadataScheduler { ConnectedAddresses = { scheduler.ConnectedAddresses } };
        return response;
    }

    public JsonObject ToJson()
    {
        var o = options.Value;
        var json = new JsonObject
        {
            ["id"] = o.AppId,
            ["runtimeVersion"] = RuntimeVersion,
            ["enabledFeatures"] = new JsonArray(),
            ["actors"] = new JsonArray(),
            ["components"] = new JsonArray(),
            ["extended"] = new JsonObject { ["appID"] = o.AppId, ["namespace"] = o.Namespace },
            ["subscriptions"] = new JsonArray(),
            ["httpEndpoints"] = new JsonArray(),
            ["appConnectionProperties"] = new JsonObject
            {
                ["port"] = o.AppPortNumber ?? 0,
                ["protocol"] = o.AppProtocol,
                ["channelAddress"] = o.AppChannelAddress,
            },
        };
        if (health.Enabled)
        {
            json["appConnectionProperties"]!["health"] = new JsonObject
            {
                ["healthCheckPath"] = o.AppHealthCheckPath,
                ["healthProbeInterval"] = $"{o.AppHealthProbeInterval}s",
                ["healthProbeTimeout"] = $"{o.AppHealthProbeTimeout}ms",
                ["healthThreshold"] = o.AppHealthThreshold,
            };
            json["extended"]!["appHealth"] = HealthText;
        }
        if (scheduler.Enabled)
            json["scheduler"] = new JsonObject
            {
                ["connected_addresses"] = new JsonArray([.. scheduler.ConnectedAddresses.Select(a => (JsonNode)JsonValue.Create(a))]),
            };
        return json;
    }

    private string HealthText => health.Status.ToString().ToLowerInvariant();
}
