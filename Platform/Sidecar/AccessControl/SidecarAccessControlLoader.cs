using Platform.Sidecar.Hosting;
using Platform.Sidecar.Security;

namespace Platform.Sidecar.AccessControl;

/// <summary>Start-up: reads --config, or says on stderr why it cannot (the sidecar then exits with 2, as for a bad flag).</summary>
public static class SidecarAccessControlLoader
{
    public static SidecarAccessControl? Load(SidecarOptions options, SidecarSecurity security)
    {
        try
        {
            var list = ConfigurationLoader.Load(options.Config, !options.AppIsGrpc);
            // The policy's trust domain is this sidecar's: a certificate of another one would make every policy moot.
            if (list is not null && security.Identity is { } identity && identity.Id.TrustDomain != list.TrustDomain)
                throw new AccessControlConfigException(
                    $"invalid configuration {options.Config}: accessControl.trustDomain is '{list.TrustDomain}', but this sidecar's certificate names trust domain '{identity.Id.TrustDomain}'");
            return new SidecarAccessControl(list);
        }
        catch (AccessControlConfigException e)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
    }
}
