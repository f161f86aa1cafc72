# Flushing the file systems between bench scenarios: dot-sourced by bench/run-all.ps1 and tests/Pester/BenchmarkAnalysis.Tests.ps1.
# Scenarios (a) and (b) write GiBs; their dirty pages were still being written back when (c) ran, and (c)'s fsynced
# saves waited behind them (one idle run measured (c) at a third of the ratio the same build reached alone right after).
# run-all.ps1 calls this after the previous scenario's process has exited and deleted its files, before the next starts.

function Invoke-BenchFlush {
    param(
        # Runs the flush and returns its exit code (tests pass one that does not touch the disk); $null when this OS has no sync command.
        [scriptblock] $Sync = $(if (Get-Command sync -CommandType Application -ErrorAction Ignore) { { & sync; $LASTEXITCODE } })
    )
    if (-not $Sync) {
        # Windows has no sync command (and no flush of every volume without administrator rights).
        return [pscustomobject]@{ Flushed = $false; Seconds = 0.0; Problem = 'no sync command on this OS' }
    }

    $clock = [Diagnostics.Stopwatch]::StartNew()
    $code = @(& $Sync)[-1]
    [pscustomobject]@{
        Flushed = $code -eq 0
        Seconds = $clock.Elapsed.TotalSeconds
        Problem = if ($code -eq 0) { $null } else { "sync exited with code $code" }
    }
}

function Format-BenchFlush($Run) {
    # The scenario line's words on the flush before it; results of runs before session 16 have none.
    if (-not $Run.PSObject.Properties['Flush'] -or -not $Run.Flush) { return 'file systems not flushed before it (a run before session 16)' }
    if (-not $Run.Flush.Flushed) { return "file systems NOT flushed before it ($($Run.Flush.Problem))" }
    "file systems flushed (sync) before it in $($Run.Flush.Seconds.ToString('F1', [Globalization.CultureInfo]::InvariantCulture)) s"
}
