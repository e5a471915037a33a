using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Hosting;

namespace Platform.Sidecar.AppChannel;

/// <summary>Chooses the channel the way daprd does: none without an app port, gRPC for --app-protocol grpc, else HTTP.</summary>
public static class AppChannelFactory
{
    public static IAppChannel Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<SidecarOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Sidecar.AppChannel");
        if (options.AppPortNumber is null) return new NoAppChannel(logger);
        IAppChannel channel = options.AppIsGrpc
            ? new GrpcAppChannel(options, logger)
            : new HttpAppChannel(options, services.GetRequiredService<AppHttpClient>(), logger);
        return options.AppJobTimeout > 0
            ? new TimedAppChannel(channel, TimeSpan.FromMilliseconds(options.AppJobTimeout), services.GetRequiredService<TimeProvider>(), logger)
            : channel;
    }
}
