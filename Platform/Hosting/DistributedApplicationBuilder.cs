using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Platform.Hosting;

public interface IDistributedApplicationBuilder
{
    ConfigurationManager Configuration { get; }

    /// <summary>The AppHost project directory.</summary>
    string AppHostDirectory { get; }

    Assembly? AppHostAssembly { get; }

    /// <summary>The one directory holding all state of a run (SQLite files, backups): <c>AppHost:DataDirectory</c> / <c>--data-dir</c>, default <c>&lt;AppHost&gt;/.data</c>.</summary>
    string DataDirectory { get; }

    IReadOnlyList<ProcessResource> Resources { get; }

    DistributedApplicationOptions Options { get; }

    IResourceBuilder<T> AddResource<T>(T resource) where T : ProcessResource;

    /// <summary>A builder over a resource already in the model (e.g. to change an AppHost's resource from a test).</summary>
    IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : ProcessResource;

    DistributedApplication Build();
}

internal sealed class DistributedApplicationBuilder : IDistributedApplicationBuilder
{
    private readonly List<ProcessResource> _resources = [];

    // Set by the testing builder around the AppHost's entry point; flows only into that call.
    internal static readonly AsyncLocal<TestingCapture?> Capture = new();

    public DistributedApplicationBuilder(DistributedApplicationOptions options)
    {
        var capture = Capture.Value;
        capture?.ConfigureOptions?.Invoke(options);
        Options = options;
        AppHostAssembly = options.AppHostAssembly ?? capture?.AppHostAssembly ?? Assembly.GetEntryAssembly();
        AppHostDirectory = Path.GetFullPath(options.AppHostDirectory
            ?? PlatformComponents.RecordedAppHostDirectory(AppHostAssembly)
            ?? Directory.GetCurrentDirectory());

        Configuration = new ConfigurationManager();
        if (capture?.ConfigurationDefaults is { Count: > 0 } defaults) Configuration.AddInMemoryCollection(defaults);
        Configuration.AddJsonFile(Path.Combine(AppHostDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        Configuration.AddEnvironmentVariables();
        Configuration.AddCommandLine(options.Args, new Dictionary<string, string>
        {
            ["--data-dir"] = "AppHost:DataDirectory",
        });
        if (capture?.ConfigurationOverrides is { Count: > 0 } overrides) Configuration.AddInMemoryCollection(overrides);

        var dataDirectory = Configuration["AppHost:DataDirectory"];
        DataDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(dataDirectory) ? ".data" : dataDirectory, AppHostDirectory);
    }

    public ConfigurationManager Configuration { get; }
    public string AppHostDirectory { get; }
    public Assembly? AppHostAssembly { get; }
    public string DataDirectory { get; }
    public IReadOnlyList<ProcessResource> Resources => _resources;
    public DistributedApplicationOptions Options { get; }

    public IResourceBuilder<T> AddResource<T>(T resource) where T : ProcessResource
    {
        if (_resources.Any(r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
            throw new InvalidOperationException($"Cannot add resource '{resource.Name}': a resource with that name already exists.");
        _resources.Add(resource);
        return new ResourceBuilder<T>(this, resource);
    }

    public IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : ProcessResource
        => _resources.Contains(resource)
            ? new ResourceBuilder<T>(this, resource)
            : throw new ArgumentException($"Resource '{resource.Name}' is not part of this application.", nameof(resource));

    public DistributedApplication Build()
    {
        // Under the testing builder the AppHost's Program only describes the model: hand the builder over and stop it here,
        // the way Aspire's testing host intercepts the AppHost's Build().
        if (Capture.Value is { } capture && capture.TryCapture(this))
            throw new EntryPointCapturedException();
        return BuildCore();
    }

    private bool _built;

    internal DistributedApplication BuildCore()
    {
        if (_built) throw new InvalidOperationException("Build() may only be called once.");
        _built = true;
        if (!Options.DisableDashboard && !_resources.OfType<DashboardResource>().Any()) this.AddDashboard("dashboard");
        ApplyConfiguredPorts();
        ExpandReplicas();
        DaprHostingExtensions.ConnectSidecars(this);
        ValidateWaits();
        return new DistributedApplication(this);
    }

    /// <summary>
    /// <c>AppHost:Ports:&lt;resource&gt;=&lt;port&gt;</c> fixes the port of a resource's <c>http</c> endpoint (e.g. a stable URL for
    /// BackupApi or the dashboard); every other endpoint gets a free port at each start.
    /// </summary>
    private void ApplyConfiguredPorts()
    {
        foreach (var entry in Configuration.GetSection("AppHost:Ports").GetChildren())
        {
            var resource = _resources.FirstOrDefault(r => string.Equals(r.Name, entry.Key, StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidOperationException($"AppHost:Ports:{entry.Key}: there is no resource named '{entry.Key}'.");
            if (!int.TryParse(entry.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
                || port is < 1 or > 65535)
                throw new InvalidOperationException($"AppHost:Ports:{entry.Key}: '{entry.Value}' is not a TCP port.");
            CreateResourceBuilder(resource).WithHttpEndpoint(port);
        }
    }

    /// <summary>Replica 2..n of a project: a copy with fresh endpoints and, if the original has one, its own sidecar.</summary>
    private void ExpandReplicas()
    {
        foreach (var original in _resources.OfType<ProjectResource>().ToList())
        {
            var count = original.Annotations.OfType<ReplicasAnnotation>().LastOrDefault()?.Replicas ?? 1;
            for (var i = 2; i <= count; i++)
            {
                var replica = new ProjectResource($"{original.Name}-{i}", original.Metadata) { ReplicaOf = original };
                foreach (var annotation in original.Annotations)
                {
                    switch (annotation)
                    {
                        case EndpointAnnotation e:
                            replica.Annotations.Add(new EndpointAnnotation(e.Name, e.Scheme, port: null, e.Env));
                            break;
                        case DaprSidecarAnnotation or ReplicasAnnotation:
                            break;
                        default:
                            replica.Annotations.Add(annotation);
                            break;
                    }
                }
                AddResource(replica);
                if (original.Annotations.OfType<DaprSidecarAnnotation>().FirstOrDefault() is { } sidecar)
                    DaprHostingExtensions.AddSidecar(this, replica, sidecar.Sidecar.Options);
            }
        }
    }

    private void ValidateWaits()
    {
        foreach (var resource in _resources)
            foreach (var wait in resource.Annotations.OfType<WaitAnnotation>())
                if (!_resources.Contains(wait.Resource))
                    throw new InvalidOperationException($"Resource '{resource.Name}' waits for '{wait.Resource.Name}', which is not part of this application.");

        // A cycle would leave every resource in it Waiting forever: reject it up front.
        var state = new Dictionary<IResource, int>();
        foreach (var resource in _resources) Visit(resource, []);

        void Visit(IResource r, List<string> path)
        {
            if (state.TryGetValue(r, out var s))
            {
                if (s == 1) throw new InvalidOperationException($"Wait cycle: {string.Join(" -> ", path)} -> {r.Name}");
                return;
            }
            state[r] = 1;
            path.Add(r.Name);
            foreach (var wait in r.Annotations.OfType<WaitAnnotation>()) Visit(wait.Resource, path);
            path.RemoveAt(path.Count - 1);
            state[r] = 2;
        }
    }
}

/// <summary>Hand-over point between the testing builder and the AppHost's Program.</summary>
internal sealed class TestingCapture(Assembly? appHostAssembly)
{
    private readonly TaskCompletionSource<DistributedApplicationBuilder> _captured = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Assembly? AppHostAssembly { get; } = appHostAssembly;
    public Action<DistributedApplicationOptions>? ConfigureOptions { get; init; }
    public IReadOnlyDictionary<string, string?>? ConfigurationDefaults { get; init; }
    public IReadOnlyDictionary<string, string?>? ConfigurationOverrides { get; init; }
    public Task<DistributedApplicationBuilder> Captured => _captured.Task;

    public bool TryCapture(DistributedApplicationBuilder builder) => _captured.TrySetResult(builder);
    public void Fail(Exception error) => _captured.TrySetException(error);
}

/// <summary>Thrown out of the AppHost's Program by Build() when the testing builder has taken the model.</summary>
internal sealed class EntryPointCapturedException() : Exception("The testing builder captured the application model.");
