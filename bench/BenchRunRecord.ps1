# What a bench run measured on: its date and commit (out/bench/run-info.json), which `run-all.ps1 -RenderOnly`
# prints in docs/benchmarks.md's header. Dot-sourced by bench/run-all.ps1 and tests/Pester/BenchmarkAnalysis.Tests.ps1.
# The record is removed when a run starts and written with runs.json when its results are complete: an interrupted
# run then renders as 'not recorded by this run', never as the previous run's figures labelled with the new commit.

$RunInfoName = 'run-info.json'

function Get-BenchRunInfo([string] $Root) {
    # The commit, marked when the tree differs from it. Untracked files count too (a new source file not yet added
    # is in the build), and are named separately in the header; ignored ones (out/, tools/, bin/) do not.
    $commit = & git -C $Root rev-parse --short HEAD 2>$null
    if (-not $commit) { $commit = 'unknown (not a git checkout)' }
    $status = @(& git -C $Root status --porcelain --untracked-files=all 2>$null | Where-Object { $_ })
    $untracked = @($status | Where-Object { $_.StartsWith('??') }).Count
    $changed = $status.Count - $untracked
    $marks = @()
    if ($changed -gt 0) { $marks += 'uncommitted changes' }
    if ($untracked -gt 0) { $marks += "$untracked untracked $(if ($untracked -eq 1) { 'file' } else { 'files' })" }
    if ($marks.Count -gt 0) { $commit = "$commit with $($marks -join ' and ')" }
    [pscustomobject]@{ Date = [DateTime]::UtcNow.ToString('yyyy-MM-dd HH:mm', [Globalization.CultureInfo]::InvariantCulture); Commit = $commit }
}

function Clear-BenchRunRecord([string] $ResultsPath) {
    # At the start of a run: the results are about to change, so the previous run's record no longer describes them.
    Remove-Item -LiteralPath (Join-Path $ResultsPath $RunInfoName) -ErrorAction Ignore
}

function Write-BenchRunRecord([string] $ResultsPath, $Runs, $RunInfo) {
    # At the end of a run, with its results.
    $Runs | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $ResultsPath 'runs.json') -Encoding utf8NoBOM
    $RunInfo | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $ResultsPath $RunInfoName) -Encoding utf8NoBOM
}
