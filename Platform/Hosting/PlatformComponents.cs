using System.Reflection;

namespace Platform.Hosting;

/// <summary>
/// Finds the build output of the platform processes (scheduler, sidecar, dashboard). The AppHost build records the
/// output path of every project it references as assembly metadata (see build/Platform.Hosting.targets), so the AppHost
/// starts exactly what its own build produced, in its own configuration.
/// </summary>
public static class PlatformComponents
{
    internal const string ProjectOutputPrefix = "Platform.Hosting.ProjectOutput:";
    internal const string AppHostDirectoryKey = "Platform.Hosting.AppHostDirectory";

    public const string Scheduler = "Platform.Scheduler";
    public const string Sidecar = "Platform.Sidecar";
    public const string Dashboard = "Platform.Dashboard";

    /// <summary>The build output dll of <paramref name="assemblyName"/>; configuration key <c>AppHost:Components:&lt;name&gt;</c> overrides it.</summary>
    public static string Locate(IDistributedApplicationBuilder builder, string assemblyName)
    {
        var configured = builder.Configuration[$"AppHost:Components:{assemblyName}"];
        if (!string.IsNullOrWhiteSpace(configured)) return RequireFile(Path.GetFullPath(configured, builder.AppHostDirectory), assemblyName);

        var recorded = builder.AppHostAssembly?.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == ProjectOutputPrefix + assemblyName)?.Value;
        if (recorded is null)
            throw new InvalidOperationException(
                $"The AppHost assembly '{builder.AppHostAssembly?.GetName().Name}' does not reference {assemblyName}. " +
                $"Add <ProjectReference Include=\"...{assemblyName}.csproj\" ReferenceOutputAssembly=\"false\" /> to the AppHost project, " +
                $"or set AppHost:Components:{assemblyName} to its dll.");
        return RequireFile(recorded, assemblyName);
    }

    internal static string? RecordedAppHostDirectory(Assembly? assembly)
        => assembly?.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == AppHostDirectoryKey)?.Value;

    private static string RequireFile(string path, string assemblyName)
        => File.Exists(path) ? path : throw new FileNotFoundException($"Build output of {assemblyName} not found (build the AppHost first).", path);
}
