using System.Diagnostics;
using System.Text.Json;

namespace AppHost.Tests;

/// <summary>
/// The Aspire CLI as test.sh installs it (a dotnet tool under .tools/aspire), run against this repository's AppHost
/// (<c>--apphost</c>, so other AppHosts running on the machine are never chosen) and kept off the network: no telemetry,
/// no update notifications, no version check of the AppHost.
/// </summary>
public static class AspireCli
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);

    public static string Path { get; } = System.IO.Path.Combine(TestSupport.RepoPaths.Root, ".tools", "aspire", "aspire");

    public static string AppHostProject { get; } = System.IO.Path.Combine(TestSupport.RepoPaths.Root, "AppHost", "AppHost.csproj");

    private static readonly Dictionary<string, string?> Environment = new()
    {
        ["ASPIRE_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["features__updateNotificationsEnabled"] = "false",
        ["ASPIRE_VERSION_CHECK_DISABLED"] = "true",
        ["NO_COLOR"] = "1",
        // `aspire start --no-build` runs the AppHost the tests built, in their configuration.
#if DEBUG
        ["Configuration"] = "Debug",
#else
        ["Configuration"] = "Release",
#endif
    };

    /// <summary>Runs <c>aspire &lt;args&gt; --apphost … --nologo --non-interactive</c> (options before any <c>--</c>); bounded, killed by pid past it.</summary>
    public static async Task<Result> RunAsync(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        if (!File.Exists(Path))
            throw new FileNotFoundException("The Aspire CLI is not installed: run ./test.sh, or dotnet tool install Aspire.Cli --version 13.6.5 --tool-path .tools/aspire", Path);
        var psi = new ProcessStartInfo(Path) { WorkingDirectory = workingDirectory };
        var split = Array.IndexOf(args, "--");
        foreach (var arg in split < 0 ? args : args[..split]) psi.ArgumentList.Add(arg);
        foreach (var arg in (string[])["--apphost", AppHostProject, "--nologo", "--non-interactive"]) psi.ArgumentList.Add(arg);
        if (split >= 0) foreach (var arg in args[split..]) psi.ArgumentList.Add(arg);
        await using var process = TestSupport.TestProcess.Start($"aspire {args[0]}", psi, Environment);
        var exitCode = await process.WaitForExitAsync(timeout);
        return new Result(exitCode, string.Join('\n', process.StandardOutput), string.Join('\n', process.Output));
    }

    public sealed record Result(int ExitCode, string StandardOutput, string Output)
    {
        public JsonElement Json => JsonDocument.Parse(StandardOutput[StandardOutput.IndexOfAny(['{', '['])..]).RootElement;
    }
}
