using System.Reflection;

namespace Platform.Hosting;

public sealed class DistributedApplicationOptions
{
    public string[] Args { get; set; } = [];

    /// <summary>Do not start the dashboard (apps then get no OTLP endpoint). The testing builder sets this by default.</summary>
    public bool DisableDashboard { get; set; }

    /// <summary>Write resources' output and state changes to the AppHost's console.</summary>
    public bool EnableConsoleOutput { get; set; } = true;

    /// <summary>The AppHost assembly: its build tells where the referenced projects' outputs are. Defaults to the entry assembly.</summary>
    public Assembly? AppHostAssembly { get; set; }

    /// <summary>Overrides the AppHost project directory (default: recorded in the AppHost assembly at build time, else the current directory).</summary>
    public string? AppHostDirectory { get; set; }

    /// <summary>How long a process gets between SIGTERM and SIGKILL when it is stopped.</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Delete the data directory when the application is disposed (the testing builder's temporary directories).</summary>
    public bool DeleteDataDirectoryOnDispose { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
