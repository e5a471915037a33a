using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Eventing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.Hosting.Dapr.Security;

namespace Platform.Hosting.Dapr;

public static partial class DaprHostingExtensions
{
    public const int MaxSchedulerReplicas = 7;

    /// <summary>The members of the replicas' etcd cluster: three, so that one may be lost, whatever the replica count.</summary>
    public const int EtcdMembers = 3;

    /// <summary>The members' plain-text endpoint for /health and /metrics (etcd's --listen-metrics-urls).</summary>
    private const string EtcdMetricsEndpointName = "metrics";

    /// <summary>Debian's etcd server (package <c>etcd-server</c>), used when <see cref="DaprOptions.EtcdPath"/> is not set.</summary>
    public const string DefaultEtcdPath = "/usr/bin/etcd";

    /// <summary>
    /// Adds the Dapr scheduler as <paramref name="replicas"/> processes. One is <see cref="AddDaprScheduler(IDistributedApplicationBuilder, string)"/>:
    /// a single scheduler on its embedded SQLite store. From 2 to <see cref="MaxSchedulerReplicas"/>, the replicas
    /// <c>&lt;name&gt;-0</c>, <c>&lt;name&gt;-1</c>, … share a three-member etcd cluster <c>etcd-0..2</c>
    /// (<see cref="DaprOptions.EtcdPath"/>, data under <c>&lt;data directory&gt;/etcd</c>), all nested under <paramref name="name"/>
    /// in the dashboard; every sidecar connects to every replica.
    /// </summary>
    public static IResourceBuilder<IDaprSchedulerResource> AddDaprScheduler(this IDistributedApplicationBuilder builder, string name, int replicas)
    {
        if (replicas is < 1 or > MaxSchedulerReplicas)
            throw new ArgumentOutOfRangeException(nameof(replicas), replicas,
                $"The Dapr scheduler runs as 1 process (its own SQLite store) or as 2 to {MaxSchedulerReplicas} replicas sharing an etcd cluster; {replicas} replicas is not supported.");
        if (replicas == 1) return builder.AddDaprScheduler(name);

        var group = new DaprSchedulerReplicasResource(name);
        var groupBuilder = builder.AddResource(group)
            .WithIconName("CalendarClock")
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = DaprSchedulerReplicasResource.ResourceTypeName,
                State = KnownResourceStates.Starting,
                Properties = [new("Replicas", replicas.ToString(CultureInfo.InvariantCulture))],
            })
            .ExcludeFromManifest();

        var clientEndpoints = AddEtcdCluster(builder, group, out var import);
        var identities = RunIdentities.For(builder, Options(builder), DataDirectory(builder));
        for (var ordinal = 0; ordinal < replicas; ordinal++)
        {
            var replicaName = $"{name}-{ordinal}";
            var replica = AddSchedulerProcess(builder, replicaName, ordinal, Path.Combine(DataDirectory(builder), replicaName), clientEndpoints)
                .WithParentRelationship(group)
                .WithArgs(context =>
                {
                    // The members' CA, and the replica's certificate for etcd from it: from the Sentry (key in the
                    // replica's memory, renewed) when the run has one, else files for the run.
                    if (identities is not null)
                    {
                        Flag(context, "--etcd-client-ca-file", identities.EtcdTrustAnchorsFile());
                        if (identities.Sentry is not null) context.Args.Add("--etcd-client-cert-from-sentry=true");
                        else
                        {
                            var files = identities.EtcdClientFilesFor(replicaName + "-etcd-client");
                            Flag(context, "--etcd-client-cert-file", files.CertChainFile);
                            Flag(context, "--etcd-client-key-file", files.CertKeyFile);
                        }
                    }
                    // Every replica's id and announced address: a leadership record naming anything else is ignored,
                    // so a forged record can neither stop firing nor send a sidecar elsewhere.
                    Flag(context, "--etcd-replicas", KnownReplicas(group));
                    Flag(context, "--etcd-max-replicas", replicas.ToString(CultureInfo.InvariantCulture));
                });
            foreach (var member in group.MemberList) replica.WaitFor(builder.CreateResourceBuilder(member));
            // Jobs kept by an open cluster before are in the locked one before any replica serves (or none starts).
            if (import is not null) replica.OnBeforeResourceStarted((_, e, cancellationToken) => import.BeforeReplicaStartsAsync(e.Services, cancellationToken));
            group.ReplicaList.Add(replica.Resource);
            if (identities?.Sentry is not null) identities.AllowEtcdClient(replicaName);
        }
        // Hashes only, as for the workload tokens; the Sentry signs these ids with etcd's CA alone.
        if (identities?.Sentry is { } sentry)
            sentry.WithEnvironment(context => context.EnvironmentVariables["SENTRY_ETCD_CLIENT_TOKENS"] = identities.EtcdClientTokenHashes());

        // Healthy while every replica is: what an app waiting for the scheduler needs (each sidecar connects to all).
        var healthKey = $"{name}_replicas_healthy";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthKey,
            sp => new ReplicasHealthCheck(group, sp.GetRequiredService<ResourceNotificationService>()), failureStatus: null, tags: null));
        groupBuilder.WithHealthCheck(healthKey);
        builder.Eventing.Subscribe<InitializeResourceEvent>(group, (e, cancellationToken) =>
        {
            var stopping = e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            _ = FollowMembersAsync(group, e.Services.GetRequiredService<ResourceNotificationService>(), stopping);
            return Task.CompletedTask;
        });
        AddJobsView(builder, group);
        return builder.CreateResourceBuilder<IDaprSchedulerResource>(group);
    }

    /// <summary>The replicas as <c>--etcd-replicas</c> takes them: <c>id=host:port,…</c>, each as it announces itself.</summary>
    private static ReferenceExpression KnownReplicas(DaprSchedulerReplicasResource group)
    {
        var list = new ReferenceExpressionBuilder();
        for (var ordinal = 0; ordinal < group.ReplicaList.Count; ordinal++)
        {
            if (!list.IsEmpty) list.AppendLiteral(",");
            list.Append($"{SchedulerId(ordinal)}={BroadcastAddress(group.ReplicaList[ordinal])}");
        }
        return list.Build();
    }

    /// <summary>
    /// Adds <c>etcd-0..2</c> and returns their client endpoints as <c>--etcd-client-endpoints</c> takes them. Clients
    /// go through the members' Aspire-allocated client endpoints. Peers are another matter: each member keeps the peer
    /// URLs of the others in its data and dials those after a restart (<c>--initial-cluster</c> counts only at the
    /// first start), so each member's peer port is chosen once and kept beside the data (<see cref="EtcdPeerPorts"/>).
    /// </summary>
    private static ReferenceExpression AddEtcdCluster(IDistributedApplicationBuilder builder, DaprSchedulerReplicasResource group,
        out EtcdImport.EtcdImportStep? import)
    {
        var options = Options(builder);
        var etcdDirectory = Path.Combine(DataDirectory(builder), "etcd");
        var names = Enumerable.Range(0, EtcdMembers).Select(i => $"etcd-{i}").ToList();
        // Locked (TLS with client certificates from etcd's CA) whenever the run has identities, i.e. unless mTLS is off.
        var identities = RunIdentities.For(builder, options, DataDirectory(builder));
        var scheme = identities is null ? "http" : "https";
        var pendingImports = builder.ExecutionContext.IsRunMode ? EtcdDataDirectory.Prepare(etcdDirectory, names, scheme) : [];
        var peerPorts = builder.ExecutionContext.IsRunMode ? EtcdPeerPorts.LoadOrAllocate(etcdDirectory, names) : names.ToDictionary(n => n, _ => 0);
        var initialCluster = string.Join(",", names.Select(n => $"{n}={scheme}://127.0.0.1:{peerPorts[n]}"));
        var configuredPath = options.EtcdPath ?? DefaultEtcdPath;
        var program = ResolveOnPath(configuredPath);
        import = pendingImports.Count > 0 && identities is not null
            ? new EtcdImport.EtcdImportStep(etcdDirectory, program ?? configuredPath, $"{group.Name}-etcd", group,
                // The AppHost's own client for the one import: files of the run (deleted when it stops), as etcd's client reads them.
                () => identities.EtcdClientFilesFor(group.Name + "-etcd-import"))
            : null;

        foreach (var name in names)
        {
            var member = new EtcdMemberResource(name, program ?? configuredPath, builder.AppHostDirectory);
            var dataDirectory = Path.Combine(etcdDirectory, name);
            var peer = peerPorts[name];
            var memberBuilder = builder.AddResource(member)
                .WithIconName("Database")
                // "http" whatever the members speak (TLS is theirs, set by the flags below): Aspire takes an https
                // endpoint for one it must find a trusted development certificate for, and warns on every run without one.
                .WithEndpoint(name: EtcdMemberResource.ClientEndpointName, scheme: "http", env: null)
                .WithEndpoint(name: EtcdMemberResource.PeerEndpointName, scheme: "http", env: null, isProxied: false, port: peer == 0 ? null : peer)
                .WithEndpoint(name: EtcdMetricsEndpointName, scheme: "http", env: null)
                .WithArgs(context =>
                {
                    Flag(context, "--name", name);
                    Flag(context, "--data-dir", dataDirectory);
                    Flag(context, "--listen-client-urls", ReferenceExpression.Create($"{scheme}://127.0.0.1:{member.ClientEndpoint.Property(EndpointProperty.TargetPort)}"));
                    Flag(context, "--advertise-client-urls", ReferenceExpression.Create(
                        $"{scheme}://{member.ClientEndpoint.Property(EndpointProperty.Host)}:{member.ClientEndpoint.Property(EndpointProperty.Port)}"));
                    Flag(context, "--listen-peer-urls", $"{scheme}://127.0.0.1:{peer}");
                    Flag(context, "--initial-advertise-peer-urls", $"{scheme}://127.0.0.1:{peer}");
                    // /health and /metrics only, in plain text, so the AppHost's health check needs no etcd certificate.
                    Flag(context, "--listen-metrics-urls", ReferenceExpression.Create(
                        $"http://127.0.0.1:{new EndpointReference(member, EtcdMetricsEndpointName).Property(EndpointProperty.TargetPort)}"));
                    if (identities is not null)
                    {
                        // Clients and peers alike must present a certificate from etcd's CA (not the workload root).
                        // Certificate and key share one file, renewed in place (EtcdMemberFile).
                        var file = identities.EtcdMemberFileFor(name);
                        Flag(context, "--cert-file", file.Path);
                        Flag(context, "--key-file", file.Path);
                        context.Args.Add("--client-cert-auth");
                        Flag(context, "--trusted-ca-file", file.TrustAnchorsFile);
                        Flag(context, "--peer-cert-file", file.Path);
                        Flag(context, "--peer-key-file", file.Path);
                        context.Args.Add("--peer-client-cert-auth");
                        Flag(context, "--peer-trusted-ca-file", file.TrustAnchorsFile);
                    }
                    Flag(context, "--initial-cluster", initialCluster);
                    Flag(context, "--initial-cluster-state", "new");
                    Flag(context, "--initial-cluster-token", $"{group.Name}-etcd");
                    // Generous against a busy developer machine: a late heartbeat must not start an election.
                    Flag(context, "--heartbeat-interval", "200");
                    Flag(context, "--election-timeout", "3000");
                    // etcd logs to stderr by default, which the dashboard shows as errors.
                    Flag(context, "--logger", "zap");
                    Flag(context, "--log-outputs", "stdout");
                })
                // 200 once the member has a leader and serves reads; 503 without quorum.
                .WithHttpHealthCheck("/health", endpointName: EtcdMetricsEndpointName)
                .WithParentRelationship(group)
                .ExcludeFromManifest();
            LoopbackTargets(member);
            if (program is null)
                memberBuilder.OnBeforeResourceStarted((resource, e, _) =>
                {
                    // DCP then fails to start it: the member shows as failed, the replicas keep waiting for it.
                    var message = EtcdMissingMessage(configuredPath) + (pendingImports.Count == 0 ? "" :
                        $" The scheduler's jobs kept in {string.Join(", ", pendingImports)} (from when the cluster was open) are kept, and imported once etcd runs.");
                    e.Services.GetRequiredService<ResourceLoggerService>().GetLogger(resource).LogError("{Message}", message);
                    e.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DaprHostingExtensions).FullName!).LogError("{Resource}: {Message}", resource.Name, message);
                    return Task.CompletedTask;
                });
            group.MemberList.Add(member);
        }

        var endpoints = new ReferenceExpressionBuilder();
        foreach (var member in group.MemberList)
        {
            if (!endpoints.IsEmpty) endpoints.AppendLiteral(",");
            endpoints.Append($"{member.ClientEndpoint.Property(EndpointProperty.Host)}:{member.ClientEndpoint.Property(EndpointProperty.Port)}");
        }
        return endpoints.Build();
    }

    public static string EtcdMissingMessage(string path) =>
        $"etcd is not installed: '{path}' does not exist. Scheduler replicas keep their jobs in an etcd cluster; install it with 'apt-get install etcd-server' (Debian), or set Dapr:EtcdPath to the etcd server program.";

    /// <summary>The program's full path: as given when it has a directory, else the first match on PATH; null when absent.</summary>
    private static string? ResolveOnPath(string program)
    {
        if (Path.IsPathRooted(program) || program.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal))
            return File.Exists(program) ? Path.GetFullPath(program) : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program)).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// The group's state for the dashboard, from its members': failed when one failed to start, running once all
    /// have run, finished once all have stopped. Its health is <see cref="ReplicasHealthCheck"/>'s.
    /// </summary>
    private static async Task FollowMembersAsync(DaprSchedulerReplicasResource group, ResourceNotificationService notifications, CancellationToken stopping)
    {
        var members = group.MemberList.Cast<IResource>().Concat(group.ReplicaList).ToHashSet();
        var states = new Dictionary<IResource, string?>();
        string? shown = KnownResourceStates.Starting;
        try
        {
            await foreach (var e in notifications.WatchAsync(stopping).ConfigureAwait(false))
            {
                if (!members.Contains(e.Resource)) continue;
                states[e.Resource] = e.Snapshot.State?.Text;
                var state = GroupState(members.Select(m => states.GetValueOrDefault(m)).ToList(), shown);
                if (state == shown) continue;
                shown = state;
                await notifications.PublishUpdateAsync(group, s => s with
                {
                    State = state == KnownResourceStates.FailedToStart ? new ResourceStateSnapshot(state, KnownResourceStateStyles.Error) : state,
                }).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
    }

    internal static string GroupState(IReadOnlyList<string?> members, string? shown)
    {
        if (members.Any(s => s == KnownResourceStates.FailedToStart)) return KnownResourceStates.FailedToStart;
        if (members.All(s => s is not null && KnownResourceStates.TerminalStates.Contains(s))) return KnownResourceStates.Finished;
        if (members.All(s => s == KnownResourceStates.Running)) return KnownResourceStates.Running;
        // Once running, a replica that stops makes the group unhealthy (ReplicasHealthCheck), not "starting" again.
        return shown == KnownResourceStates.Running ? KnownResourceStates.Running : KnownResourceStates.Starting;
    }

    /// <summary>Healthy when every replica is; degraded while some are; unhealthy when none is.</summary>
    private sealed class ReplicasHealthCheck(DaprSchedulerReplicasResource group, ResourceNotificationService notifications) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var unhealthy = group.Replicas.Where(r => !(notifications.TryGetCurrentState(r.Name, out var e) && e.Snapshot.HealthStatus == HealthStatus.Healthy))
                .Select(r => r.Name).ToList();
            return Task.FromResult(unhealthy.Count == 0 ? HealthCheckResult.Healthy($"{group.Replicas.Count} replicas healthy")
                : unhealthy.Count < group.Replicas.Count ? HealthCheckResult.Degraded($"not healthy: {string.Join(", ", unhealthy)}")
                : HealthCheckResult.Unhealthy("no replica is healthy"));
        }
    }
}
