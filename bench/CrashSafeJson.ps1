# The crash-safe way to keep a state as a JSON file, what a pwsh user would have to write to get what a checkpoint step
# promises (the old file or the new one after a crash, never a torn one, and the new one still there after a power loss):
# the text into a temporary file, that file flushed to the disk, renamed over the old one, and the directory flushed so
# the rename itself is durable. Scenario (e) times it beside Save-Checkpoint (bench/module-states.ps1), because
# ConvertTo-Json | Set-Content alone flushes nothing. Dot-sourced by bench/module-states.ps1 and its tests.

if (-not ('DxckBenchDirectoryFlush' -as [type])) {
    # .NET opens no directory as a file, so its flush goes through libc (Linux and macOS; the bench runs on Linux).
    Add-Type -TypeDefinition @'
using System.ComponentModel;
using System.Runtime.InteropServices;
public static class DxckBenchDirectoryFlush {
    [DllImport("libc", SetLastError = true)] private static extern int open(string path, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int fsync(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    public static void Flush(string directory) {
        int fd = open(directory, 0); // O_RDONLY
        if (fd < 0) throw new Win32Exception(Marshal.GetLastWin32Error(), "open " + directory);
        try { if (fsync(fd) != 0) throw new Win32Exception(Marshal.GetLastWin32Error(), "fsync " + directory); }
        finally { close(fd); }
    }
}
'@
}

function Save-JsonCrashSafe($State, [string] $LiteralPath) {
    if ($IsWindows) { throw 'Save-JsonCrashSafe flushes a directory through libc: Linux or macOS only' }
    # One path for every call below: Set-Content resolves against PowerShell's location (and its drives), [IO.File] and
    # [IO.Path] against the process's working directory, which Set-Location does not move.
    $LiteralPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($LiteralPath)
    $directory = [IO.Path]::GetDirectoryName($LiteralPath)
    $temporary = "$LiteralPath.tmp"
    $State | ConvertTo-Json -Depth 100 | Set-Content -LiteralPath $temporary -Encoding utf8NoBOM
    $stream = [IO.File]::Open($temporary, [IO.FileMode]::Open, [IO.FileAccess]::ReadWrite)
    try { $stream.Flush($true) } finally { $stream.Dispose() }
    [IO.File]::Move($temporary, $LiteralPath, $true)
    [DxckBenchDirectoryFlush]::Flush($directory)
}
