using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using TestSupport;

namespace BackupWorker.Tests.Repositories;

/// <summary>
/// A real S3 endpoint: s3rver (the npm package test.sh installs under <c>.tools/s3rver</c>) on a free loopback port,
/// its data in a temp directory. It can be killed and started again on the same data and port, as an outage. A
/// <see cref="TestProcess"/>: it dies with the test host, and is killed by pid (and its data deleted) on dispose.
/// s3rver knows one account, <c>S3RVER</c>: another access key id is refused (InvalidAccessKeyId), but it does not
/// check SigV4 signatures, so a wrong secret for that id goes through.
/// </summary>
public sealed class S3rverProcess : IAsyncDisposable
{
    /// <summary>s3rver's built-in account: public, documented, not a secret.</summary>
    public const string AccessKeyId = "S3RVER";
    public const string SecretAccessKey = "S3RVER";
    private const string EnvironmentOverride = "S3RVER_MAIN";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _dataDir;
    private TestProcess? _process;

    private S3rverProcess(string dataDir)
    {
        _dataDir = dataDir;
        Port = FreePort.Next();
    }

    /// <summary>s3rver's command line: <c>$S3RVER_MAIN</c>, or the copy test.sh installs in the repository.</summary>
    public static string Main { get; } = Environment.GetEnvironmentVariable(EnvironmentOverride) is { Length: > 0 } path
        ? path
        : Path.Combine(RepoPaths.Root, ".tools", "s3rver", "node_modules", "s3rver", "bin", "s3rver.js");

    public static string? MissingReason => File.Exists(Main)
        ? null
        : $"s3rver is not installed (missing {Main}); test.sh installs it with npm, or set {EnvironmentOverride}.";

    public int Port { get; private set; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    /// <summary>A client of this s3rver for a test's own look behind a repository's back (no retries).</summary>
    public AmazonS3Client Client() => new(new BasicAWSCredentials(AccessKeyId, SecretAccessKey), new AmazonS3Config
    {
        ServiceURL = ServiceUrl,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        MaxErrorRetry = 0,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts s3rver on a free port and a fresh temp data directory, and waits until it listens.</summary>
    public static async Task<S3rverProcess> StartNewAsync()
    {
        if (MissingReason is { } missing) throw new InvalidOperationException(missing);
        var s3rver = new S3rverProcess(Directory.CreateTempSubdirectory("s3rver-test-").FullName);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await s3rver.StartAsync();
                    return s3rver;
                }
                catch (TimeoutException) when (attempt < 5 && s3rver._process!.Output.Any(l => l.Contains("EADDRINUSE")))
                {
                    // Something took the free port between asking and binding: another one.
                    await s3rver._process!.KillAsync();
                    s3rver.Port = FreePort.Next();
                }
            }
        }
        catch
        {
            await s3rver.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts (again) on the same data and port, and waits for the line saying it listens.</summary>
    public async Task StartAsync()
    {
        if (IsRunning) throw new InvalidOperationException("s3rver is already running.");
        var psi = new ProcessStartInfo("node") { WorkingDirectory = _dataDir };
        foreach (var arg in (string[])[Main, "--directory", _dataDir, "--address", "127.0.0.1", "--port", Port.ToString(), "--no-vhost-buckets"])
            psi.ArgumentList.Add(arg);
        if (_process is not null) await _process.DisposeAsync();
        _process = TestProcess.Start("s3rver", psi);
        await _process.WaitForOutputAsync(l => l.StartsWith("S3rver listening on", StringComparison.Ordinal), StartTimeout);
    }

    /// <summary>
    /// Kills s3rver by pid, as a crash or an outage ends it. It writes every object to disk as it is stored, so what
    /// was complete is there again after <see cref="StartAsync"/>.
    /// </summary>
    public async Task KillAsync()
    {
        if (_process is not null) await _process.KillAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
