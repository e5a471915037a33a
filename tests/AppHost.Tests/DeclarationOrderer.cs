using Xunit.Abstractions;
using Xunit.Sdk;

namespace AppHost.Tests;

/// <summary>
/// Runs a class's tests in the order they are declared, for a class whose tests walk one shared app through its life
/// (the last one stops it).
/// </summary>
public sealed class DeclarationOrderer : ITestCaseOrderer
{
    public const string TypeName = "AppHost.Tests.DeclarationOrderer";
    public const string AssemblyName = "AppHost.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase
        => testCases.OrderBy(t => t.TestMethod.Method.ToRuntimeMethod().MetadataToken);
}
