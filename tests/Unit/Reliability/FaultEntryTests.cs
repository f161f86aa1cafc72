using System.Globalization;
using DataraxCkpt.Faults;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Reliability;

/// <summary>
/// The test-only variable DATARAXCKPT_FAULT is checked when it is read: <c>x=delay:-1</c> slept for ever holding the
/// delay lock, <c>x=delay:abc</c> threw only when the point was hit, and an unknown action killed the process.
/// </summary>
public sealed class FaultEntryTests
{
    [Theory]
    [InlineData("x=delay:-1", "the delay '-1'")]
    [InlineData("x=delay:abc", "the delay 'abc'")]
    [InlineData("x=delay:", "the delay ''")]
    [InlineData("x=delay:99999999999", "the delay '99999999999'")]
    [InlineData("x=dealy", "'dealy' is not an action")]
    [InlineData("x=", "'' is not an action")]
    [InlineData("=ioerror", "names no point")]
    [InlineData("x=ioerror@0", "the hit count '0'")]
    [InlineData("x=ioerror@-2", "the hit count '-2'")]
    [InlineData("x@abc+", "the hit count 'abc+'")]
    [InlineData("x@", "the hit count ''")]
    [InlineData("x=sqlite:", "the SQLite result code ''")]
    [InlineData("x=sqlite:0", "the SQLite result code '0'")]
    [InlineData("x=sqlite:-10", "the SQLite result code '-10'")]
    [InlineData("x=sqlite:ioerr", "the SQLite result code 'ioerr'")]
    public void A_malformed_entry_is_refused_naming_the_variable_the_entry_and_the_allowed_forms(string entry, string why)
    {
        var e = Assert.Throws<ArgumentException>(() => FaultInjector.Parse(entry));
        Assert.Contains($"{FaultInjector.EnvironmentVariable}='{entry}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.Contains(FaultInjector.AllowedForms, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x", "x", "kill", 0, 1, false)]
    [InlineData("x=delay", "x", "delay", 100, 1, false)]
    [InlineData("restore.chunk-decoded=delay:250@3+", "restore.chunk-decoded", "delay", 250, 3, true)]
    [InlineData("x=delay:0", "x", "delay", 0, 1, false)]
    [InlineData("step.open=ioerror@2", "step.open", "ioerror", 0, 2, false)]
    [InlineData("x=diskfull@1+", "x", "diskfull", 0, 1, true)]
    [InlineData("x=bug", "x", "bug", 0, 1, false)]
    [InlineData("x=kill", "x", "kill", 0, 1, false)]
    public void Each_allowed_form_is_parsed(string entry, string point, string action, int delay, int triggerOn, bool persistent) =>
        Assert.Equal(new FaultInjector.Plan(point, action, delay, triggerOn, persistent), FaultInjector.Parse(entry));

    [Theory]
    [InlineData("index.step-number-index.before-commit=sqlite:778@1+", "index.step-number-index.before-commit", 778, 1, true)]
    [InlineData("x=sqlite:13", "x", 13, 1, false)]
    public void A_sqlite_action_is_parsed_with_its_result_code(string entry, string point, int code, int triggerOn, bool persistent) =>
        Assert.Equal(new FaultInjector.Plan(point, "sqlite", 0, triggerOn, persistent) { SqliteCode = code }, FaultInjector.Parse(entry));

    [Fact]
    public async Task A_process_given_a_negative_delay_fails_at_its_first_fault_point_with_the_entry_instead_of_sleeping_for_ever()
    {
        using var dir = new TempDirectory();
        using var p = Harness.Start("fsync.directory=delay:-1", "save", dir.Sub("ck"), "1", "1", "1", "64");
        var output = p.StandardOutput.ReadToEndAsync();
        var errors = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("the save slept at the fault point instead of failing");
        }

        var text = await output + await errors;
        Assert.True(p.ExitCode != 0, string.Create(CultureInfo.InvariantCulture, $"exit {p.ExitCode}: {text}"));
        Assert.Contains("DATARAXCKPT_FAULT='fsync.directory=delay:-1' is not a valid fault entry", text, StringComparison.Ordinal);
    }
}
