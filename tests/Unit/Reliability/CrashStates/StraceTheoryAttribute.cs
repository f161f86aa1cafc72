namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// A theory that needs strace. Where strace is missing it is reported as skipped, with the reason;
/// under CI (<c>CI=true</c>) it runs and fails instead, so a CI machine without strace never passes
/// the durability proof silently.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class StraceTheoryAttribute : TheoryAttribute
{
    public StraceTheoryAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "the crash-state explorer records system calls with strace, which exists only on Linux";
        }
        else if (TraceRecorder.FindStrace() is null && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Skip = "strace is not installed (apt-get install strace; build.ps1 -Task Test installs it); under CI=true this test fails instead";
        }
    }
}
