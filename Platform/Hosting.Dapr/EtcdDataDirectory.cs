using Platform.Security;

namespace Platform.Hosting.Dapr;

/// <summary>
/// The etcd cluster's directory, kept private (0700, the members' data directories too: they hold every job's payload)
/// and marked with the scheme its members speak (<c>scheme</c>: <c>https</c> or <c>http</c>). A member keeps its peers'
/// URLs with its data, so members that spoke plain text cannot form a cluster over TLS: the data of such an open
/// cluster is moved aside to <c>etcd-open-&lt;time&gt;</c> (kept, not deleted) and a locked cluster starts empty.
/// </summary>
internal static class EtcdDataDirectory
{
    public const string SchemeFileName = "scheme";

    public static void Prepare(string etcdDirectory, IReadOnlyList<string> members, string scheme)
    {
        if (Directory.Exists(etcdDirectory) && SchemeOf(etcdDirectory) is { } previous && previous != scheme)
            Directory.Move(etcdDirectory, $"{etcdDirectory}-{(previous == "http" ? "open" : previous)}-{DateTime.UtcNow:yyyyMMddTHHmmss}");
        MakePrivate(etcdDirectory);
        foreach (var member in members) MakePrivate(Path.Combine(etcdDirectory, member));
        File.WriteAllText(Path.Combine(etcdDirectory, SchemeFileName), scheme);
    }

    /// <summary>The scheme the directory's members spoke; null for a directory with no member data yet.</summary>
    private static string? SchemeOf(string etcdDirectory)
    {
        var file = Path.Combine(etcdDirectory, SchemeFileName);
        if (File.Exists(file)) return File.ReadAllText(file).Trim();
        // Written before the marker existed: members then always spoke plain text.
        return File.Exists(Path.Combine(etcdDirectory, EtcdPeerPorts.FileName)) ? "http" : null;
    }

    private static void MakePrivate(string directory)
    {
        CertificateAuthority.CreatePrivateDirectory(directory);
        // A directory made before (by an earlier version, or umask 022) keeps its mode unless it is set here.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
