using System.Text;
using Platform.Security;

namespace Platform.Hosting.Dapr;

/// <summary>
/// Writes an app id's Dapr Configuration (kind Configuration, spec.accessControl): default deny, and for each allowed
/// caller (proven by its certificate, in the run's apps' trust domain and namespace) its operations with their verbs, all
/// else denied. Scalars are single-quoted so no app id or path can change the document's structure.
/// </summary>
internal static class DaprConfigurationFile
{
    public static string Write(string directory, string appId, string trustDomain, IReadOnlyList<(string Caller, IReadOnlyList<DaprOperation> Operations)> callers)
    {
        CertificateAuthority.CreatePrivateDirectory(directory);
        var path = Path.Combine(directory, appId + ".yaml");
        File.WriteAllText(path, Render(appId, trustDomain, callers));
        return path;
    }

    public static string Render(string appId, string trustDomain, IReadOnlyList<(string Caller, IReadOnlyList<DaprOperation> Operations)> callers)
    {
        var yaml = new StringBuilder()
            .AppendLine("apiVersion: dapr.io/v1alpha1")
            .AppendLine("kind: Configuration")
            .AppendLine("metadata:")
            .AppendLine($"  name: {Quote(appId)}")
            .AppendLine("spec:")
            .AppendLine("  accessControl:")
            .AppendLine("    defaultAction: deny")
            .AppendLine($"    trustDomain: {Quote(trustDomain)}");
        if (callers.Count == 0) return yaml.ToString();
        yaml.AppendLine("    policies:");
        foreach (var (caller, operations) in callers)
        {
            yaml.AppendLine($"    - appId: {Quote(caller)}")
                .AppendLine("      defaultAction: deny")
                .AppendLine($"      trustDomain: {Quote(trustDomain)}")
                .AppendLine($"      namespace: {Quote(SpiffeId.DefaultControlPlaneNamespace)}");
            if (operations.Count == 0) continue;
            yaml.AppendLine("      operations:");
            foreach (var operation in operations)
            {
                yaml.AppendLine($"      - name: {Quote(operation.Name)}")
                    .AppendLine($"        httpVerb: [{string.Join(", ", operation.HttpVerbs.Select(Quote))}]")
                    .AppendLine("        action: allow");
            }
        }
        return yaml.ToString();
    }

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
