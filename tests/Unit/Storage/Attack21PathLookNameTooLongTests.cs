using DataraxCkpt.Storage;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Attack on looks21: PathLook raises every failed look other than ENOENT/ENOTDIR "with its errno in
/// Data['DataraxCkpt.SystemErrno']" (docs/guarantees.md §6), naming ENAMETOOLONG among them. .NET raises ENAMETOOLONG as a
/// PathTooLongException whose HResult is an HRESULT, not the errno: the look is raised with no errno and with the advice to
/// check the disk (dmesg), which is wrong for a name that is too long.
/// </summary>
public sealed class Attack21PathLookNameTooLongTests
{
    [SkippableFact]
    public void A_look_at_a_name_too_long_is_raised_with_its_errno_and_without_blaming_the_disk()
    {
        Skip.If(OperatingSystem.IsWindows(), "Windows has no errno and reports a long name differently");

        var path = Path.Combine(Path.GetTempPath(), new string('a', 300));
        var e = Assert.ThrowsAny<IOException>(() => PathLook.File(path));

        Assert.True(e.Data[IndexIoErrorData.SystemErrno] is int, $"no errno in Data: {e.Message}");
        Assert.Equal(OperatingSystem.IsMacOS() ? 63 : 36, e.Data[IndexIoErrorData.SystemErrno]);
        Assert.DoesNotContain("Check the disk", e.Message, StringComparison.Ordinal);
        Assert.Contains("too long", e.Message, StringComparison.Ordinal);
    }
}
