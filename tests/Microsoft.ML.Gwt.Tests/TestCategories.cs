namespace Microsoft.ML.Gwt.Tests;

/// <summary>Test categories (<c>[TestCategory(TestCategories.Process)]</c>).</summary>
/// <remarks>
/// <see cref="Process"/>: the test starts another process (dotnet pack, dotnet build of a consumer app, the sample, the
/// TestHost child that is killed and resumed, python3): these are slow (most of the suite's time) and depend on tools
/// outside this process. They are NOT excluded anywhere: <c>.ci/run</c> runs every test with no filter. Select them with
/// <c>--filter "TestCategory=Process"</c>, or run everything else quickly with <c>--filter "TestCategory!=Process"</c>.
/// A test keeps its other categories (such as "Integration") as well.
/// </remarks>
internal static class TestCategories
{
    /// <summary>The test starts another process.</summary>
    public const string Process = "Process";
}
