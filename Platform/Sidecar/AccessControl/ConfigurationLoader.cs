using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Platform.Sidecar.AccessControl;

/// <summary>daprd's <c>--config</c>: a Dapr Configuration YAML file, read once at start-up.</summary>
public static class ConfigurationLoader
{
    private static readonly IDeserializer Yaml = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();

    /// <summary>The access control list of the file, or null without a file or without accessControl in it.</summary>
    public static AccessControlList? Load(string? path, bool appIsHttp)
    {
        if (string.IsNullOrEmpty(path)) return null;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AccessControlConfigException($"cannot read --config {path}: {e.Message}", e);
        }
        return Parse(text, path, appIsHttp);
    }

    public static AccessControlList? Parse(string yaml, string source, bool appIsHttp)
    {
        ConfigurationDocument? document;
        try
        {
            document = Yaml.Deserialize<ConfigurationDocument>(yaml);
        }
        catch (YamlException e)
        {
            throw new AccessControlConfigException($"invalid configuration {source}: {e.Message}", e);
        }
        if (document is null) throw new AccessControlConfigException($"invalid configuration {source}: the file is empty");
        if (!string.Equals(document.Kind, "Configuration", StringComparison.Ordinal))
            throw new AccessControlConfigException($"invalid configuration {source}: kind is '{document.Kind}', not 'Configuration'");
        try
        {
            return AccessControlList.Parse(document.Spec?.AccessControl, appIsHttp);
        }
        catch (AccessControlConfigException e)
        {
            throw new AccessControlConfigException($"invalid configuration {source}: {e.Message}", e);
        }
    }
}
