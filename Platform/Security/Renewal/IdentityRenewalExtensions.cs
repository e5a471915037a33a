using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Platform.Security.Renewal;

public static class IdentityRenewalExtensions
{
    /// <summary>Renews <paramref name="identity"/> in the background when it came from a signer; else nothing.</summary>
    public static IServiceCollection AddIdentityRenewal(this IServiceCollection services, WorkloadIdentity? identity)
    {
        if (identity is null || RenewableIdentity.SourceOf(identity) is null) return services;
        // Not AddHostedService, which keeps one service per type: a scheduler renews two identities (workload and etcd client).
        return services.AddSingleton<IHostedService>(sp => new IdentityRenewal(identity,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<IdentityRenewal>>()));
    }
}
