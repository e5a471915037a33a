using System.Globalization;
using System.Reflection;
using Platform.Hosting;

namespace AppHost.Tests;

internal static class TestHelpers
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The AppHost assembly: its build recorded where the platform processes' outputs are.</summary>
    public static Assembly AppHostAssembly { get; } = Assembly.Load(new AssemblyName("AppHost"));

    public static IResourceBuilder<ExecutableResource> AddShell(this IDistributedApplicationBuilder builder, string name, string script)
        => builder.AddExecutable(name, "/bin/sh", Path.GetTempPath(), "-c", script);

    /// <summary>Completes with the first output line of the resource (past or future) that contains <paramref name="text"/>.</summary>
    public static async Task<string> WaitForLogAsync(this DistributedApplication app, string resource, Func<string, bool> match, TimeSpan? timeout = null)
    {
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string name, LogLine line)
        {
            if (string.Equals(name, resource, StringComparison.OrdinalIgnoreCase) && match(line.Text)) tcs.TrySetResult(line.Text);
        }
        app.ResourceLogs.LineLogged += OnLine;
        try
        {
            if (app.ResourceLogs.GetLines(resource).FirstOrDefault(l => match(l.Text)) is { } seen) return seen.Text;
            return await tcs.Task.WaitAsync(timeout ?? Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No matching output from {resource} within {timeout ?? Timeout}:{Environment.NewLine}{Tail(app, resource)}");
        }
        finally
        {
            app.ResourceLogs.LineLogged -= OnLine;
        }
    }

    public static string Tail(DistributedApplication app, string resource, int lines = 60)
        => string.Join(Environment.NewLine, app.ResourceLogs.GetLines(resource).TakeLast(lines).Select(l => l.Text));

    public static string AllLogs(DistributedApplication app, int linesPerResource = 40)
        => string.Join(Environment.NewLine, app.Resources.Select(r => $"--- {r.Name}:{Environment.NewLine}{Tail(app, r.Name, linesPerResource)}"));

    public static bool IsAlive(int pid) => TestSupport.ProcessProbe.IsAlive(pid);

    public static int ParseInt(string s) => int.Parse(s, CultureInfo.InvariantCulture);
}

/// <summary>Metadata for a project that need not exist (for model and environment tests that do not start it).</summary>
internal sealed class FakeProject(string name) : IProjectMetadata
{
    public string ProjectPath { get; } = Path.Combine(Path.GetTempPath(), name, name + ".csproj");
    public string TargetPath { get; } = Path.Combine(Path.GetTempPath(), name, name + ".dll");
}
