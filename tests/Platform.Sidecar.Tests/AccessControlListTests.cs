using Platform.Security;
using Platform.Sidecar.AccessControl;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>Access control evaluated as daprd evaluates it: the cases of dapr/dapr's own ACL tests, on the same spec.</summary>
public sealed class AccessControlListTests
{
    // dapr/dapr pkg/acl's test spec, as a Configuration file.
    private const string Spec = """
        apiVersion: dapr.io/v1alpha1
        kind: Configuration
        metadata:
          name: daprs-acl-test
        spec:
          accessControl:
            defaultAction: deny
            trustDomain: abcd
            policies:
            - appId: app1
              defaultAction: allow
              trustDomain: public
              namespace: ns1
              operations:
              - { name: /op1, httpVerb: [POST, GET], action: allow }
              - { name: /op2, httpVerb: ['*'], action: deny }
            - appId: app2
              defaultAction: deny
              trustDomain: domain1
              namespace: ns2
              operations:
              - { name: /op3/a/*, httpVerb: [PUT, GET], action: allow }
              - { name: /op4, httpVerb: [POST], action: allow }
            - appId: app3
              trustDomain: domain1
              namespace: ns1
              operations:
              - { name: /op5, httpVerb: [POST], action: allow }
            - appId: app4
              defaultAction: deny
              trustDomain: domain1
              namespace: ns2
              operations:
              - { name: /op6, action: allow }
              - { name: /op7/a/b/*, action: allow }
              - { name: /op7/a/b/c/f, action: allow }
              - { name: /op7/a/b*, action: allow }
              - { name: /op7/c/**, action: allow }
            - appId: app1
              defaultAction: allow
              trustDomain: public
              namespace: ns4
              operations:
              - { name: /op6, httpVerb: ['*'], action: allow }
        """;

    [Theory]
    [InlineData("app4", "public", "ns1", "op1", "POST", true, false)]      // no policy for the caller: global deny
    [InlineData("app1", "private", "ns1", "op1", "POST", true, false)]     // policy of another trust domain: global
    [InlineData("app1", "public", "abcd", "op1", "POST", true, false)]     // another namespace: global
    [InlineData(null, null, null, "op1", "POST", true, false)]             // no identity: global
    [InlineData("app1", "public", "ns1", "opX", "POST", true, true)]       // no rule: the policy's default
    [InlineData("app1", "public", "ns1", "Op2", "POST", true, false)]      // HTTP: case-insensitive, '*' verb
    [InlineData("app1", "public", "ns1", "op2", "PUT", true, false)]
    [InlineData("app2", "domain1", "ns2", "op4", "PUT", true, false)]      // verb not in the rule: policy default
    [InlineData("app3", "domain1", "ns1", "op5", "PUT", true, false)]      // no policy default: global
    [InlineData("app2", "domain1", "ns2", "op4", "POST", true, true)]
    [InlineData("app2", "domain1", "ns2", "/op4", "POST", true, true)]
    [InlineData("app2", "domain1", "ns2", "op4", null, true, false)]       // no verb on an HTTP app: policy default
    [InlineData("app2", "domain1", "ns2", "/op3/a", "PUT", true, true)]    // a last '*' also matches the bare parent
    [InlineData("app2", "domain1", "ns2", "/op3/b/b", "PUT", true, false)]
    [InlineData("app2", "domain1", "ns2", "/op3/a/b", "PUT", true, true)]
    [InlineData("app2", "domain1", "ns2", "/OP4", null, false, false)]     // gRPC: case-sensitive
    [InlineData("app2", "domain1", "ns2", "op4", null, false, true)]       // gRPC: the rule's action, verbs ignored
    [InlineData("app4", "domain1", "ns2", "op6", null, false, true)]
    [InlineData("app4", "domain1", "ns2", "op7/a/b/c", null, false, true)]
    [InlineData("app4", "domain1", "ns2", "op7/a/b/c/d", null, false, false)] // '*' is one segment
    [InlineData("app4", "domain1", "ns2", "op7/a/b/c/f", null, false, true)]
    [InlineData("app4", "domain1", "ns2", "op7/a/bc", null, false, true)]    // '*' inside a segment
    [InlineData("app4", "domain1", "ns2", "op7/c/d/e", null, false, true)]   // '**' is everything below
    [InlineData("app1", "public", "ns4", "op6", "DELETE", true, true)]       // same app id, other namespace: its own policy
    public void Operations_are_allowed_as_daprd_allows_them(string? app, string? trustDomain, string? ns, string operation, string? verb, bool http, bool allowed)
    {
        var acl = ConfigurationLoader.Parse(Spec, "test", http)!;
        var caller = app is null ? null : new SpiffeId(trustDomain!, ns!, app);
        Assert.Equal(allowed, acl.IsAllowed(caller, operation, verb));
    }

    [Fact]
    public void Defaults_follow_daprd()
    {
        // Nothing set: no access control at all.
        Assert.Null(ConfigurationLoader.Parse("kind: Configuration\nspec: {}\n", "t", true));
        // A trust domain but no default action and no policies key: deny; an explicitly empty list: allow.
        var denied = ConfigurationLoader.Parse("kind: Configuration\nspec:\n  accessControl:\n    trustDomain: public\n", "t", true)!;
        Assert.False(denied.IsAllowed(TestIdentity.App("any"), "x", "GET"));
        var open = ConfigurationLoader.Parse("kind: Configuration\nspec:\n  accessControl:\n    trustDomain: public\n    policies: []\n", "t", true)!;
        Assert.True(open.IsAllowed(TestIdentity.App("any"), "x", "GET"));
        Assert.Equal("public", ConfigurationLoader.Parse("kind: Configuration\nspec:\n  accessControl:\n    defaultAction: allow\n", "t", true)!.TrustDomain);
    }

    [Theory]
    [InlineData("kind: Configuration\nspec:\n  accessControl:\n    defaultAction: deny\n    policies:\n    - appId: a\n      namespace: default\n",
        "invalid configuration f.yaml: invalid access control spec. missing trustdomain for apps: [a], missing namespace for apps: [], missing app name on at least one of the app policies: false")]
    [InlineData("kind: Configuration\nspec:\n  accessControl:\n    defaultAction: deny\n    policies:\n    - trustDomain: public\n      namespace: default\n",
        "invalid configuration f.yaml: invalid access control spec. missing trustdomain for apps: [], missing namespace for apps: [], missing app name on at least one of the app policies: true")]
    [InlineData("kind: Component\nspec: {}\n", "invalid configuration f.yaml: kind is 'Component', not 'Configuration'")]
    [InlineData("", "invalid configuration f.yaml: the file is empty")]
    public void A_bad_configuration_is_refused_with_the_reason(string yaml, string message) =>
        Assert.Equal(message, Assert.Throws<AccessControlConfigException>(() => ConfigurationLoader.Parse(yaml, "f.yaml", true)).Message);

    [Fact]
    public void Broken_yaml_is_refused_naming_the_file() =>
        Assert.StartsWith("invalid configuration f.yaml: ", Assert.Throws<AccessControlConfigException>(() =>
            ConfigurationLoader.Parse("kind: Configuration\nspec:\n  accessControl: [unclosed\n", "f.yaml", true)).Message);

    [Theory]
    [InlineData("public/../admin", "admin")]
    [InlineData("../../public", "public")]
    [InlineData("a/./b//c/", "a/b/c")]
    [InlineData("..", "")]
    [InlineData("/x/../../y", "/y")]
    public void Methods_are_normalized_as_daprd_does(string method, string expected) =>
        Assert.Equal(expected, MethodNormalizer.Normalize(method, out _));

    [Theory]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("a\0b")]
    [InlineData("a\rb")]
    public void Methods_with_forbidden_characters_are_refused(string method) => Assert.Null(MethodNormalizer.Normalize(method, out _));

    [Fact]
    public async Task A_sidecar_with_a_bad_configuration_refuses_to_start_and_says_why()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bad-config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, "kind: Configuration\nspec:\n  accessControl:\n    defaultAction: deny\n    policies:\n    - appId: a\n      trustDomain: public\n");
        try
        {
            await using var sidecar = TestProcess.StartDotnet("sidecar-bad-config", RepoPaths.ProjectOutput("Platform/Sidecar", "Platform.Sidecar"),
                ["--app-id", "me", "--dapr-http-port", FreePort.Next().ToString(), "--dapr-grpc-port", FreePort.Next().ToString(),
                 "--metrics-port", FreePort.Next().ToString(), "--config", file]);
            await sidecar.WaitForOutputAsync(l => l.Contains($"invalid configuration {file}: invalid access control spec. missing trustdomain for apps: [], missing namespace for apps: [a]"),
                TimeSpan.FromSeconds(30));
            Assert.Equal(2, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
