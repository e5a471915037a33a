using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Security;

namespace Platform.Hosting.Dapr.EtcdImport;

/// <summary>
/// The import of open etcd directories as a step every scheduler replica awaits before it starts (once the members are
/// healthy): one run shared by all replicas, done again only after a failure (a replica restarted from the dashboard).
/// </summary>
internal sealed class EtcdImportStep(string etcdDirectory, string etcdProgram, string clusterToken, DaprSchedulerReplicasResource group,
    Func<IdentityFiles> client)
{
    private readonly Lock _gate = new();
    private Task? _run;

    public Task BeforeReplicaStartsAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        if (EtcdDataDirectory.PendingImports(etcdDirectory).Count == 0) return Task.CompletedTask;
        lock (_gate)
        {
            if (_run is null || _run.IsFaulted || _run.IsCanceled) _run = RunAsync(services);
            return _run.WaitAsync(cancellationToken);
        }
    }

    private async Task RunAsync(IServiceProvider services)
    {
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var notifications = services.GetRequiredService<ResourceNotificationService>();
        foreach (var member in group.EtcdMembers) await notifications.WaitForResourceHealthyAsync(member.Name, stopping);
        var endpoint = group.EtcdMembers[0].ClientEndpoint;
        var logger = new BothLogger(services.GetRequiredService<ResourceLoggerService>().GetLogger(group),
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(EtcdOpenDataImport).FullName!));
        await EtcdOpenDataImport.RunAsync(etcdDirectory, etcdProgram, clusterToken, new Uri($"https://{endpoint.Host}:{endpoint.Port}"), client(),
            logger, stopping);
    }

    /// <summary>The dashboard's console of the replicas' group and the AppHost's own log, both.</summary>
    private sealed class BothLogger(ILogger first, ILogger second) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => first.IsEnabled(logLevel) || second.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            first.Log(logLevel, eventId, state, exception, formatter);
            second.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
