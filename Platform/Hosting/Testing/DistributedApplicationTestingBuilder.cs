using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Platform.Hosting.Testing;

/// <summary>A builder for tests: the AppHost's own model (or an empty one), with test defaults; builds and disposes the app.</summary>
public interface IDistributedApplicationTestingBuilder : IDistributedApplicationBuilder, IAsyncDisposable
{
    Task<DistributedApplication> BuildAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// Entry point for whole-application tests, in the spirit of Aspire.Hosting.Testing.
/// <para>
/// Mechanism (the one Aspire uses, made explicit): <see cref="CreateAsync{TEntryPoint}(string[], Action{DistributedApplicationOptions}?, CancellationToken)"/>
/// runs the AppHost's real entry point (its Program) with the given arguments. When that Program calls <c>Build()</c>, the
/// builder — the AppHost's own model, exactly as Program described it — is handed to the test and Program is ended there,
/// before anything starts. The test may then change resources or configuration and calls <c>BuildAsync</c>.
/// </para>
/// <para>
/// Test defaults: a fresh temporary data directory per builder (deleted on dispose) unless <c>AppHost:DataDirectory</c>
/// is given; no dashboard; no console output (resource output is kept in <c>app.ResourceLogs</c>); a 2 s stop grace period.
/// Ports are always free loopback ports chosen at start, so tests run in parallel.
/// </para>
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    public static Task<IDistributedApplicationTestingBuilder> CreateAsync<TEntryPoint>(CancellationToken cancellationToken = default)
        where TEntryPoint : class
        => CreateAsync(typeof(TEntryPoint), [], null, cancellationToken);

    public static Task<IDistributedApplicationTestingBuilder> CreateAsync<TEntryPoint>(string[] args, CancellationToken cancellationToken = default)
        where TEntryPoint : class
        => CreateAsync(typeof(TEntryPoint), args, null, cancellationToken);

    public static Task<IDistributedApplicationTestingBuilder> CreateAsync<TEntryPoint>(string[] args,
        Action<DistributedApplicationOptions>? configureOptions, CancellationToken cancellationToken = default)
        where TEntryPoint : class
        => CreateAsync(typeof(TEntryPoint), args, configureOptions, cancellationToken);

    /// <param name="entryPoint">A <c>Projects.&lt;AppHost&gt;</c> metadata type (generated from a ProjectReference) or any type of the AppHost assembly.</param>
    public static async Task<IDistributedApplicationTestingBuilder> CreateAsync(Type entryPoint, string[] args,
        Action<DistributedApplicationOptions>? configureOptions, CancellationToken cancellationToken = default)
    {
        var assembly = AppHostAssemblyOf(entryPoint);
        var main = assembly.EntryPoint ?? throw new InvalidOperationException($"Assembly '{assembly.GetName().Name}' has no entry point.");
        var tempDir = NewTempDataDirectory();
        var capture = new TestingCapture(assembly)
        {
            ConfigureOptions = o => ApplyTestDefaults(o, configureOptions),
            ConfigurationDefaults = new Dictionary<string, string?> { ["AppHost:DataDirectory"] = tempDir },
        };

        var program = Task.Run(() =>
        {
            DistributedApplicationBuilder.Capture.Value = capture;
            try
            {
                var result = main.Invoke(null, main.GetParameters().Length == 0 ? [] : [args]);
                if (result is Task task) task.GetAwaiter().GetResult();
                capture.Fail(new InvalidOperationException($"The entry point of '{assembly.GetName().Name}' returned without calling Build()."));
            }
            catch (Exception ex) when (Unwrap(ex) is EntryPointCapturedException)
            {
            }
            catch (Exception ex)
            {
                capture.Fail(new InvalidOperationException($"The entry point of '{assembly.GetName().Name}' failed before Build().", Unwrap(ex)));
            }
        }, CancellationToken.None);

        var builder = await capture.Captured.WaitAsync(cancellationToken);
        await program;
        // The temp dir is ours to delete only if the test kept it.
        if (!PathsEqual(builder.DataDirectory, tempDir)) TryDelete(tempDir);
        else builder.Options.DeleteDataDirectoryOnDispose = true;
        return new TestingBuilder(builder);
    }

    /// <summary>An empty model with test defaults (for tests of the hosting library itself).</summary>
    public static IDistributedApplicationTestingBuilder Create(params string[] args) => Create(args, null);

    public static IDistributedApplicationTestingBuilder Create(string[] args, Action<DistributedApplicationOptions>? configureOptions)
    {
        var tempDir = NewTempDataDirectory();
        var options = new DistributedApplicationOptions { Args = args, AppHostDirectory = Directory.GetCurrentDirectory() };
        ApplyTestDefaults(options, configureOptions);
        var previous = DistributedApplicationBuilder.Capture.Value;
        DistributedApplicationBuilder.Capture.Value = new TestingCapture(options.AppHostAssembly)
        {
            ConfigurationDefaults = new Dictionary<string, string?> { ["AppHost:DataDirectory"] = tempDir },
        };
        try
        {
            var builder = new DistributedApplicationBuilder(options);
            if (PathsEqual(builder.DataDirectory, tempDir)) builder.Options.DeleteDataDirectoryOnDispose = true;
            else TryDelete(tempDir);
            return new TestingBuilder(builder);
        }
        finally
        {
            DistributedApplicationBuilder.Capture.Value = previous;
        }
    }

    private static void ApplyTestDefaults(DistributedApplicationOptions options, Action<DistributedApplicationOptions>? configure)
    {
        options.DisableDashboard = true;
        options.EnableConsoleOutput = false;
        options.StopGracePeriod = TimeSpan.FromSeconds(2);
        configure?.Invoke(options);
    }

    private static Assembly AppHostAssemblyOf(Type entryPoint)
    {
        if (typeof(IProjectMetadata).IsAssignableFrom(entryPoint) && entryPoint.GetConstructor(Type.EmptyTypes) is not null)
        {
            var metadata = (IProjectMetadata)Activator.CreateInstance(entryPoint)!;
            return Assembly.Load(new AssemblyName(Path.GetFileNameWithoutExtension(metadata.TargetPath)));
        }
        return entryPoint.Assembly;
    }

    private static Exception Unwrap(Exception ex)
    {
        while (ex is TargetInvocationException or AggregateException && ex.InnerException is not null) ex = ex.InnerException!;
        return ex;
    }

    private static string NewTempDataDirectory()
        => Path.Combine(Path.GetTempPath(), "platform-apphost-tests", Guid.NewGuid().ToString("N")[..12]);

    private static bool PathsEqual(string a, string b)
        => string.Equals(Path.GetFullPath(a).TrimEnd('/'), Path.GetFullPath(b).TrimEnd('/'), StringComparison.Ordinal);

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
        catch (IOException) { }
    }

    private sealed class TestingBuilder(DistributedApplicationBuilder inner) : IDistributedApplicationTestingBuilder
    {
        private DistributedApplication? _app;

        public ConfigurationManager Configuration => inner.Configuration;
        public string AppHostDirectory => inner.AppHostDirectory;
        public Assembly? AppHostAssembly => inner.AppHostAssembly;
        public string DataDirectory => inner.DataDirectory;
        public IReadOnlyList<ProcessResource> Resources => inner.Resources;
        public DistributedApplicationOptions Options => inner.Options;

        public IResourceBuilder<T> AddResource<T>(T resource) where T : ProcessResource => inner.AddResource(resource);
        public IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : ProcessResource => inner.CreateResourceBuilder(resource);
        public DistributedApplication Build() => _app = inner.BuildCore();
        public Task<DistributedApplication> BuildAsync(CancellationToken cancellationToken = default) => Task.FromResult(Build());

        public async ValueTask DisposeAsync()
        {
            if (_app is not null) await _app.DisposeAsync();
        }
    }
}
