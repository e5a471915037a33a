namespace Platform.Hosting;

/// <summary>Anything the AppHost runs, named uniquely in one model.</summary>
public interface IResource
{
    string Name { get; }
    IList<IResourceAnnotation> Annotations { get; }
}

/// <summary>Marker for the declarative facts attached to a resource (endpoints, env, waits, health checks...).</summary>
public interface IResourceAnnotation;

/// <summary>
/// Every resource of ours is a local process. The type name shown by the resource service and dashboard
/// (<c>Project|Executable|DaprSidecar|Scheduler|Dashboard</c>) comes from <see cref="ResourceType"/>.
/// </summary>
public abstract class ProcessResource(string name, string command, string workingDirectory) : IResource
{
    public string Name { get; } = ValidateName(name);
    public IList<IResourceAnnotation> Annotations { get; } = new List<IResourceAnnotation>();
    public string Command { get; protected set; } = command;
    public string WorkingDirectory { get; protected set; } = workingDirectory;
    public abstract string ResourceType { get; }

    /// <summary>Arguments that precede the ones added by annotations (e.g. the dll of a project).</summary>
    public List<string> BaseArgs { get; } = [];

    /// <summary>The resource this one belongs to (a sidecar's app), for nesting in the dashboard.</summary>
    public IResource? Parent { get; init; }

    public override string ToString() => $"{ResourceType} {Name}";

    private static string ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
                throw new ArgumentException($"Resource name '{name}' may only contain ASCII letters, digits, '-' and '_'.", nameof(name));
        return name;
    }
}

/// <summary>A .NET project started from its build output: <c>dotnet &lt;TargetPath&gt;</c> in the project directory.</summary>
public sealed class ProjectResource : ProcessResource
{
    public ProjectResource(string name, IProjectMetadata metadata)
        : base(name, "dotnet", Path.GetDirectoryName(metadata.ProjectPath)!)
    {
        Metadata = metadata;
        BaseArgs.Add(metadata.TargetPath);
    }

    public IProjectMetadata Metadata { get; }
    public override string ResourceType => "Project";

    /// <summary>For replica 2..n of a project (<c>WithReplicas</c>): the resource it is a copy of.</summary>
    public ProjectResource? ReplicaOf { get; internal init; }
}

/// <summary>Any command line.</summary>
public sealed class ExecutableResource(string name, string command, string workingDirectory)
    : ProcessResource(name, command, workingDirectory)
{
    public override string ResourceType => "Executable";
}

/// <summary>The Dapr-compatible scheduler (Platform.Scheduler build output).</summary>
public sealed class SchedulerResource : ProcessResource
{
    internal SchedulerResource(string name, string dllPath, string workingDirectory) : base(name, "dotnet", workingDirectory)
        => BaseArgs.Add(dllPath);

    public override string ResourceType => "Scheduler";
}

/// <summary>The daprd-compatible sidecar of one app (Platform.Sidecar build output), named <c>&lt;app&gt;-dapr</c>.</summary>
public sealed class DaprSidecarResource : ProcessResource
{
    internal DaprSidecarResource(string name, string dllPath, string workingDirectory, ProcessResource app, DaprSidecarOptions options)
        : base(name, "dotnet", workingDirectory)
    {
        BaseArgs.Add(dllPath);
        App = app;
        Options = options;
        Parent = app;
    }

    public ProcessResource App { get; }
    public DaprSidecarOptions Options { get; }
    public override string ResourceType => "DaprSidecar";
}

/// <summary>The telemetry dashboard (Platform.Dashboard build output).</summary>
public sealed class DashboardResource : ProcessResource
{
    internal DashboardResource(string name, string dllPath, string workingDirectory) : base(name, "dotnet", workingDirectory)
        => BaseArgs.Add(dllPath);

    public override string ResourceType => "Dashboard";
}

/// <summary>
/// What the build knows about a referenced project. Generated as <c>Projects.&lt;Name&gt;</c> for each
/// <c>&lt;ProjectReference&gt;</c> of an AppHost (see build/Platform.Hosting.targets), as Aspire generates them.
/// </summary>
public interface IProjectMetadata
{
    /// <summary>Full path of the .csproj.</summary>
    string ProjectPath { get; }

    /// <summary>Full path of the build output assembly (what gets started).</summary>
    string TargetPath { get; }
}
