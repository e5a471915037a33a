using Platform.Sidecar.Hosting;
using Platform.Sidecar.Security;

namespace Platform.Sidecar.AccessControl;

/// <summary>Start-up: reads --config, or says on stderr why it cannot (the sidecar then exits with 2, as for a bad flag).</summary>
public static class SidecarAccessControlLoader
{
    /// <summary>The Configuration's access control; null (after saying why) when the file cannot be used.</summary>
    public static SidecarAccessControl? Load(SidecarOptions options)
    {
        try
        {
            return new SidecarAccessControl(ConfigurationLoader.Load(options.Config, !options.AppIsGrpc));
        }
        catch (AccessControlConfigException e)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
    }

    /// <summary>
    /// Whether the policy's trust domain is the one the sidecar's certificate names (says why not on stderr): a
    /// certificate of another trust domain would make every policy moot. A certificate from the Sentry is asked for in
    /// the policy's trust domain, as daprd asks; one read from files may name any.
    /// </summary>
    public static bool AgreesWith(SidecarAccessControl accessControl, SidecarOptions options, SidecarSecurity security)
    {
        if (accessControl.List is not { } list || security.Identity is not { } identity || identity.Id.TrustDomain == list.TrustDomain) return true;
        Console.Error.WriteLine(
            $"invalid configuration {options.Config}: accessControl.trustDomain is '{list.TrustDomain}', but this sidecar's certificate names trust domain '{identity.Id.TrustDomain}'");
        return false;
    }
}
