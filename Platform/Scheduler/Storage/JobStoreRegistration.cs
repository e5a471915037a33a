using Microsoft.Extensions.Options;
using Platform.Scheduler.Hosting;
using Platform.Scheduler.Leadership;
using Platform.Scheduler.Storage.Etcd;
using Platform.Security.Renewal;

namespace Platform.Scheduler.Storage;

/// <summary>Picks the job store from Dapr's flags: the embedded SQLite file by default, an etcd cluster with <c>--etcd-embed=false</c>.</summary>
internal static class JobStoreRegistration
{
    public static IServiceCollection AddJobStore(this IServiceCollection services, IConfiguration configuration)
    {
        var etcd = configuration.GetSection(EtcdStoreOptions.Section).Get<EtcdStoreOptions>() ?? new EtcdStoreOptions();
        if (etcd.UseEtcd)
        {
            // Malformed endpoints fail here, before anything starts, with the flag's name in the message.
            var endpoints = etcd.ParseEndpoints();
            // So do unreadable certificate, key or credential files, and a certificate the Sentry does not give.
            etcd.ClientIdentity = Security.EtcdClientCertificate.Obtain(
                configuration.GetSection(SchedulerOptions.Section).Get<SchedulerOptions>() ?? new SchedulerOptions(), etcd);
            services.AddIdentityRenewal(etcd.ClientIdentity);
            EtcdClientTls.Load(etcd, endpoints);
            etcd.ResolveCredentials();
            var replicas = etcd.ParseReplicas();
            // Replicas on one cluster are peers: each takes part in the elections that share the jobs out.
            services.AddSingleton(sp =>
            {
                var scheduler = sp.GetRequiredService<IOptions<SchedulerOptions>>().Value;
                // Listed replicas check each other's records against the list: this one must be on it, as it announces itself.
                if (replicas.Count > 0 && (!replicas.TryGetValue(scheduler.Id, out var listed) || listed != scheduler.AdvertisedAddress))
                    throw new InvalidOperationException(
                        $"--etcd-replicas does not list this replica as {scheduler.Id}={scheduler.AdvertisedAddress} (--id, --override-broadcast-host-port).");
                return new EtcdLeadership(etcd, scheduler.Id, scheduler.AdvertisedAddress, sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<EtcdLeadership>>());
            });
            return services.AddSingleton<IJobStore>(sp =>
                new EtcdJobStore(etcd, sp.GetRequiredService<ILogger<EtcdJobStore>>(), sp.GetRequiredService<TimeProvider>()));
        }
        return services.AddSingleton<IJobStore>(sp =>
            new SqliteJobStore(sp.GetRequiredService<IOptions<SchedulerOptions>>().Value.DataDir, sp.GetRequiredService<ILogger<SqliteJobStore>>()));
    }
}
