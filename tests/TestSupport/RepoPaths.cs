namespace TestSupport;

public static class RepoPaths
{
    /// <summary>The repository root: the nearest ancestor of the test binaries holding Aspire.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The build output of a project of this repository, e.g. <c>ProjectOutput("Platform/Scheduler", "Platform.Scheduler")</c>.
    /// Test projects reference the project (ReferenceOutputAssembly=false) so it is built first, in the same configuration.
    /// </summary>
    public static string ProjectOutput(string projectDir, string assemblyName)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var path = Path.Combine(Root, projectDir, "bin", configuration, "net10.0", assemblyName + ".dll");
        if (!File.Exists(path)) throw new FileNotFoundException($"Build output not found; is {projectDir} referenced by the test project?", path);
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Aspire.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Aspire.sln not found above " + AppContext.BaseDirectory);
    }
}
