using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Jobs.Extensions;

public static class DaprJobsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DaprJobsClient"/>, built from configuration/environment (<c>DAPR_GRPC_ENDPOINT</c>,
    /// <c>DAPR_GRPC_PORT</c>, <c>DAPR_API_TOKEN</c>) and then <paramref name="configure"/>.
    /// </summary>
    public static IDaprJobsBuilder AddDaprJobsClient(this IServiceCollection services,
        Action<IServiceProvider, DaprJobsClientBuilder>? configure = null, ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.Add(new ServiceDescriptor(typeof(DaprJobsClient), sp =>
        {
            var builder = new DaprJobsClientBuilder(sp.GetService<IConfiguration>());
            configure?.Invoke(sp, builder);
            return builder.Build();
        }, lifetime));
        return new DaprJobsBuilder(services);
    }
}
