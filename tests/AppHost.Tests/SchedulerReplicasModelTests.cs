using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Platform.Hosting.Dapr;

namespace AppHost.Tests;

/// <summary>The scheduler part of the AppHost's model with and without <c>--Scheduler:Replicas</c>, read without starting anything.</summary>
public sealed class SchedulerReplicasModelTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("apphost-model-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    /// <summary>
    /// The AppHost's model as its Program left it. Not built: disposing a built, never-started appHost waits 30 s for the
    /// AppHost's own thread when that thread has not yet reached Run() (most times after the first in a process).
    /// </summary>
    private Task<IDistributedApplicationTestingBuilder> ModelAsync(params string[] args)
        => DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [.. args, $"--AppHost:DataDirectory={_data}", $"--Parameters:backupapi-key={RunningApp.ApiKey}"],
            (options, _) => options.DisableDashboard = true);

    private static IResource Resource(IDistributedApplicationTestingBuilder appHost, string name)
        => appHost.Resources.Single(r => r.Name == name);

    /// <summary>The resource's arguments, a reference to an endpoint written as {resource.endpoint.Property}.</summary>
    private static async Task<List<string>> ArgsOf(IDistributedApplicationTestingBuilder appHost, string name)
    {
        var resource = Resource(appHost, name);
        var args = new List<object>();
        var context = new CommandLineArgsCallbackContext(args, resource)
        {
            ExecutionContext = appHost.ExecutionContext,
        };
        foreach (var callback in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>()) await callback.Callback(context);
        return [.. args.Select(Render)];
    }

    private static string Render(object value) => value switch
    {
        string text => text,
        EndpointReferenceExpression e => $"{{{e.Endpoint.Resource.Name}.{e.Endpoint.EndpointName}.{e.Property}}}",
        ReferenceExpression r => string.Format(CultureInfo.InvariantCulture, r.Format, [.. r.ValueProviders.Select(Render)]),
        _ => throw new InvalidOperationException($"unexpected argument {value.GetType()}"),
    };

    private static string Flag(List<string> args, string flag)
    {
        var at = args.IndexOf(flag);
        Assert.True(at >= 0, $"{flag} in {string.Join(' ', args)}");
        return args[at + 1];
    }

    private static IEnumerable<string> WaitsOf(IResource resource) => resource.Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name);

    private static IResource? ParentOf(IResource resource)
        => resource.Annotations.OfType<ResourceRelationshipAnnotation>().LastOrDefault(r => r.Type == "Parent")?.Resource;

    [Fact]
    public async Task Three_replicas_get_a_three_member_etcd_cluster_and_every_sidecar_lists_and_waits_for_all_replicas()
    {
        await using var appHost = await ModelAsync("--Scheduler:Replicas=3");
        var group = Assert.IsType<DaprSchedulerReplicasResource>(Resource(appHost, "scheduler"));
        Assert.Equal(["scheduler-0", "scheduler-1", "scheduler-2"], appHost.Resources.OfType<DaprSchedulerResource>().Select(r => r.Name));
        Assert.Equal(["etcd-0", "etcd-1", "etcd-2"], appHost.Resources.OfType<EtcdMemberResource>().Select(r => r.Name));

        var peers = new List<string>();
        var etcdAnchors = new HashSet<string>();
        for (var i = 0; i < 3; i++)
        {
            var etcd = Assert.IsType<EtcdMemberResource>(Resource(appHost, $"etcd-{i}"));
            Assert.Equal(DaprHostingExtensions.DefaultEtcdPath, etcd.Command);
            Assert.Same(group, ParentOf(etcd));
            var args = await ArgsOf(appHost, etcd.Name);
            Assert.Equal(etcd.Name, Flag(args, "--name"));
            Assert.Equal(Path.Combine(_data, "etcd", etcd.Name), Flag(args, "--data-dir"));
            Assert.Equal($"https://127.0.0.1:{{{etcd.Name}.client.TargetPort}}", Flag(args, "--listen-client-urls"));
            Assert.Equal($"https://{{{etcd.Name}.client.Host}}:{{{etcd.Name}.client.Port}}", Flag(args, "--advertise-client-urls"));
            // Locked: clients and peers need a certificate from etcd's own CA, not the workload root every app trusts.
            Assert.Contains("--client-cert-auth", args);
            Assert.Contains("--peer-client-cert-auth", args);
            Assert.Equal(Flag(args, "--trusted-ca-file"), Flag(args, "--peer-trusted-ca-file"));
            // Certificate and key in one file, replaced by a rename: never read as a new certificate with an old key.
            Assert.Equal(Flag(args, "--cert-file"), Flag(args, "--key-file"));
            Assert.Equal(Flag(args, "--cert-file"), Flag(args, "--peer-key-file"));
            etcdAnchors.Add(File.ReadAllText(Flag(args, "--trusted-ca-file")));
            Assert.Equal($"http://127.0.0.1:{{{etcd.Name}.metrics.TargetPort}}", Flag(args, "--listen-metrics-urls"));
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Flag(args, "--data-dir")));
            var peer = Flag(args, "--listen-peer-urls");
            Assert.Matches(@"^https://127\.0\.0\.1:\d+$", peer);
            Assert.Equal(peer, Flag(args, "--initial-advertise-peer-urls"));
            Assert.Equal("new", Flag(args, "--initial-cluster-state"));
            peers.Add($"{etcd.Name}={peer}");
            // Loopback only; the peer port is the one etcd listens on (no proxy: it is dialled at the URL it was given).
            Assert.All(etcd.Annotations.OfType<EndpointAnnotation>(), e => Assert.Equal("127.0.0.1", e.TargetHost));
            var peerEndpoint = etcd.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == EtcdMemberResource.PeerEndpointName);
            Assert.False(peerEndpoint.IsProxied);
            Assert.Equal($"https://127.0.0.1:{peerEndpoint.Port}", peer);
            Assert.Empty(WaitsOf(etcd)); // the members start together: none has quorum alone
            Assert.Contains(etcd.Annotations.OfType<HealthCheckAnnotation>(), _ => true);
        }
        Assert.Equal(3, peers.Distinct().Count());
        for (var i = 0; i < 3; i++)
            Assert.Equal(string.Join(",", peers), Flag(await ArgsOf(appHost, $"etcd-{i}"), "--initial-cluster"));

        const string knownReplicas = "dapr-scheduler-server-0={scheduler-0.grpc.Host}:{scheduler-0.grpc.Port},"
            + "dapr-scheduler-server-1={scheduler-1.grpc.Host}:{scheduler-1.grpc.Port},dapr-scheduler-server-2={scheduler-2.grpc.Host}:{scheduler-2.grpc.Port}";
        for (var i = 0; i < 3; i++)
        {
            var replica = Resource(appHost, $"scheduler-{i}");
            Assert.Same(group, ParentOf(replica));
            var args = await ArgsOf(appHost, replica.Name);
            Assert.Equal($"dapr-scheduler-server-{i}", Flag(args, "--id"));
            Assert.Equal("127.0.0.1", Flag(args, "--listen-address"));
            Assert.Equal($"{{{replica.Name}.grpc.TargetPort}}", Flag(args, "--port"));
            Assert.Equal($"{{{replica.Name}.healthz.TargetPort}}", Flag(args, "--healthz-port"));
            Assert.Equal(Path.Combine(_data, replica.Name), Flag(args, "--data-dir"));
            Assert.Contains("--etcd-embed=false", args);
            Assert.Equal("{etcd-0.client.Host}:{etcd-0.client.Port},{etcd-1.client.Host}:{etcd-1.client.Port},{etcd-2.client.Host}:{etcd-2.client.Port}",
                Flag(args, "--etcd-client-endpoints"));
            // Sidecars that learn the replicas through WatchHosts dial this address: the one --scheduler-host-address
            // names, and the one every replica expects of it (--etcd-replicas), so a forged leadership record is ignored.
            Assert.Equal($"{{{replica.Name}.grpc.Host}}:{{{replica.Name}.grpc.Port}}", Flag(args, "--override-broadcast-host-port"));
            Assert.Equal(knownReplicas, Flag(args, "--etcd-replicas"));
            // Its workload certificate comes from the run's Sentry (asked with a token of its own), its etcd one from etcd's CA.
            Assert.Equal("{sentry.grpc.Host}:{sentry.grpc.Port}", Flag(args, "--sentry-address"));
            Assert.Equal(etcdAnchors.Single(), File.ReadAllText(Flag(args, "--etcd-client-ca-file")));
            // Its etcd client certificate too (etcd's CA, key in memory, renewed): no etcd key file on disk.
            Assert.Contains("--etcd-client-cert-from-sentry=true", args);
            Assert.DoesNotContain("--etcd-client-key-file", args);
            // The workload root (which signs every app's and sidecar's certificate) is not etcd's CA.
            Assert.NotEqual(etcdAnchors.Single(), File.ReadAllText(Flag(args, "--trust-anchors-file")));
            Assert.Equal("3", Flag(args, "--etcd-max-replicas"));
            Assert.Equal(["etcd-0", "etcd-1", "etcd-2", "sentry"], WaitsOf(replica).Order());
        }

        // The Sentry holds etcd's CA beside the root and knows each replica's token (as a hash) for its etcd client id only.
        var sentry = Resource(appHost, "sentry");
        var environment = new EnvironmentCallbackContext(appHost.ExecutionContext, new Dictionary<string, object>());
        foreach (var callback in sentry.Annotations.OfType<EnvironmentCallbackAnnotation>()) await callback.Callback(environment);
        var etcdTokens = ((string)environment.EnvironmentVariables["SENTRY_ETCD_CLIENT_TOKENS"]).Split(',');
        Assert.Equal(3, etcdTokens.Distinct().Count());
        Assert.All(etcdTokens, t => Assert.StartsWith("spiffe://localhost/ns/default/dapr-scheduler.etcd-client=", t, StringComparison.Ordinal));
        Assert.DoesNotContain(".etcd-client", (string)environment.EnvironmentVariables["SENTRY_BOOTSTRAP_TOKENS"], StringComparison.Ordinal);
        Assert.Contains(etcdAnchors.Single().Trim(), File.ReadAllText(Flag(await ArgsOf(appHost, "sentry"), "--ca-credentials-file")), StringComparison.Ordinal);

        const string all = "{scheduler-0.grpc.Host}:{scheduler-0.grpc.Port},{scheduler-1.grpc.Host}:{scheduler-1.grpc.Port},{scheduler-2.grpc.Host}:{scheduler-2.grpc.Port}";
        foreach (var sidecar in new[] { "backupworker-dapr", "backupapi-dapr" })
        {
            Assert.Equal(all, Flag(await ArgsOf(appHost, sidecar), "--scheduler-host-address"));
            Assert.Equal(["scheduler-0", "scheduler-1", "scheduler-2"], WaitsOf(Resource(appHost, sidecar)).Where(w => w.StartsWith("scheduler", StringComparison.Ordinal)).Order());
        }
        // The worker waits for the group, which is healthy only while every replica is.
        Assert.Contains("scheduler", WaitsOf(Resource(appHost, "backupworker")));
        Assert.Contains(group.Annotations.OfType<HealthCheckAnnotation>(), _ => true);
    }

    [Fact]
    public async Task The_etcd_peer_ports_are_kept_with_the_data_so_a_restarted_cluster_finds_its_members()
    {
        List<string> first;
        await using (var appHost = await ModelAsync("--Scheduler:Replicas=3")) first = await ArgsOf(appHost, "etcd-0");
        await using var again = await ModelAsync("--Scheduler:Replicas=2");
        Assert.Equal(Flag(first, "--initial-cluster"), Flag(await ArgsOf(again, "etcd-0"), "--initial-cluster"));
        Assert.True(File.Exists(Path.Combine(_data, "etcd", "peer-ports")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("1")]
    public async Task One_replica_is_the_single_scheduler_on_its_sqlite_store(string? replicas)
    {
        await using var appHost = await ModelAsync(replicas is null ? [] : [$"--Scheduler:Replicas={replicas}"]);
        var scheduler = Assert.Single(appHost.Resources.OfType<DaprSchedulerResource>());
        Assert.Equal("scheduler", scheduler.Name);
        Assert.Empty(appHost.Resources.OfType<EtcdMemberResource>());
        Assert.Empty(appHost.Resources.OfType<DaprSchedulerReplicasResource>());
        var args = await ArgsOf(appHost, "scheduler");
        Assert.Equal("dapr-scheduler-server-0", Flag(args, "--id"));
        Assert.Equal(Path.Combine(_data, "scheduler"), Flag(args, "--data-dir"));
        Assert.DoesNotContain(args, a => a.StartsWith("--etcd", StringComparison.Ordinal));
        Assert.Equal("{scheduler.grpc.Host}:{scheduler.grpc.Port}", Flag(await ArgsOf(appHost, "backupworker-dapr"), "--scheduler-host-address"));
        Assert.False(Directory.Exists(Path.Combine(_data, "etcd")));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("8")]
    [InlineData("-1")]
    [InlineData("abc")]
    public async Task Other_replica_counts_are_refused_with_a_clear_error(string replicas)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ModelAsync($"--Scheduler:Replicas={replicas}"));
        var messages = string.Join(" | ", Chain(error).Select(e => e.Message));
        Assert.Contains($"Scheduler:Replicas must be 1 (one scheduler) or 2 to 7 (replicas on an etcd cluster), not '{replicas}'.", messages);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    public void The_integration_refuses_a_replica_count_it_cannot_run(int replicas)
    {
        var builder = DistributedApplication.CreateBuilder();
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddDaprScheduler("scheduler", replicas));
        Assert.Contains("1 process (its own SQLite store) or as 2 to 7 replicas", error.Message);
    }

    [Fact]
    public async Task Dapr_EtcdPath_names_the_etcd_program()
    {
        var missing = Path.Combine(_data, "no-such-etcd");
        await using var appHost = await ModelAsync("--Scheduler:Replicas=3", $"--Dapr:EtcdPath={missing}");
        Assert.Equal(missing, Assert.IsType<EtcdMemberResource>(Resource(appHost, "etcd-0")).Command);
    }

    [Fact]
    public async Task Dapr_TrustDomain_is_the_apps_trust_domain_in_their_configurations_and_the_only_one_the_scheduler_serves()
    {
        await using var appHost = await ModelAsync("--Dapr:TrustDomain=example.org");
        Assert.Equal("example.org", Flag(await ArgsOf(appHost, "scheduler"), "--app-trust-domains"));
        foreach (var app in new[] { "backupworker", "backupapi" })
        {
            var configuration = Platform.Sidecar.AccessControl.ConfigurationLoader.Load(Flag(await ArgsOf(appHost, $"{app}-dapr"), "--config"), appIsHttp: true)!;
            // The sidecar asks the Sentry for its certificate in this trust domain, and callers are proven in it.
            Assert.Equal("example.org", configuration.TrustDomain);
        }

        await using var byDefault = await ModelAsync();
        Assert.Equal("public", Flag(await ArgsOf(byDefault, "scheduler"), "--app-trust-domains"));
    }

    [Theory]
    [InlineData("Example.org")]
    [InlineData("evil/ns/default")]
    public async Task A_malformed_Dapr_TrustDomain_is_refused_with_a_clear_error(string trustDomain)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var appHost = await ModelAsync($"--Dapr:TrustDomain={trustDomain}");
            await ArgsOf(appHost, "backupworker-dapr");
        });
        Assert.Contains($"Dapr:TrustDomain '{trustDomain}' is not a trust domain", string.Join(" | ", Chain(error).Select(e => e.Message)));
    }

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException) yield return e;
    }
}
