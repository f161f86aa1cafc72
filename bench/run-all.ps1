#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs every DataraxCkpt benchmark scenario and writes docs/benchmarks.md.
.DESCRIPTION
    Builds bench/DataraxCkpt.Bench in Release, runs each scenario in its own process (each against its
    baselines in the same run, alternating, medians of several repetitions), runs the module scenario
    (bench/module-bench.ps1) when a built module is found, then renders docs/benchmarks.md from the
    scenarios' JSON results plus the analysis in bench/analysis.md, whose figures are placeholders filled
    from the same results ({{target:GOAL}}, {{row:SCENARIO:ROW}}) and whose explanations of missed
    targets appear only for the targets this run missed ({{missed-targets}}).
    Self-sufficient: `build.ps1 -Task Bench` only needs to call it.
.PARAMETER Scenarios
    Scenarios to run (default: a, b, c, d, f; e runs when a module is found).
.PARAMETER Repetitions
    Repetitions per scenario; the defaults fit the whole run in about ten minutes on two cores.
.PARAMETER ModulePath
    Path of the built DataraxCkpt PowerShell module (.psd1) for scenario (e); searched under out/ when omitted.
.PARAMETER Output
    The Markdown file to write (default docs/benchmarks.md).
#>
[CmdletBinding()]
param(
    [string[]] $Scenarios = @('a', 'b', 'c', 'd', 'f'),
    [hashtable] $Repetitions = @{ a = 3; b = 3; c = 3; d = 5; f = 3 },
    [string] $ModulePath,
    [string] $Output,
    # Render docs/benchmarks.md again from the last run's results in out/bench, without running anything.
    [switch] $RenderOnly,
    # Where the results are kept (default out/bench).
    [string] $ResultsPath,
    # The analysis to render after the figures (default bench/analysis.md).
    [string] $AnalysisPath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = Split-Path -Parent $PSScriptRoot
if (-not $Output) { $Output = Join-Path $root 'docs/benchmarks.md' }
$results = if ($ResultsPath) { $ResultsPath } else { Join-Path $root 'out/bench' }
if (-not $AnalysisPath) { $AnalysisPath = Join-Path $PSScriptRoot 'analysis.md' }
New-Item -ItemType Directory -Force -Path $results | Out-Null

$runsFile = Join-Path $results 'runs.json'
if ($RenderOnly) {
    $saved = Get-Content $runsFile -Raw | ConvertFrom-Json
    $runs = [ordered]@{}
    foreach ($p in $saved.PSObject.Properties) { $runs[$p.Name] = $p.Value }
} else {
Write-Host 'Building the bench (Release)...'
& dotnet build (Join-Path $PSScriptRoot 'DataraxCkpt.Bench/DataraxCkpt.Bench.csproj') -c Release --nologo -v quiet -o (Join-Path $results 'bin')
if ($LASTEXITCODE -ne 0) { throw "bench build failed ($LASTEXITCODE)" }
$exe = Join-Path $results 'bin/DataraxCkpt.Bench.dll'

function Get-Load { (Get-Content /proc/loadavg -Raw).Split(' ')[0..2] -join ' ' }

$runs = [ordered]@{}
foreach ($s in $Scenarios) {
    $json = Join-Path $results "$s.json"
    Remove-Item -Force -ErrorAction SilentlyContinue $json
    $reps = if ($Repetitions.ContainsKey($s)) { $Repetitions[$s] } else { 3 }
    $loadBefore = Get-Load
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Write-Host "Scenario ($s), $reps repetitions (load average $loadBefore)..."
    & dotnet $exe $s --reps $reps --out $json
    $exit = $LASTEXITCODE
    $runs[$s] = [pscustomobject]@{ Exit = $exit; Seconds = $clock.Elapsed.TotalSeconds; LoadBefore = $loadBefore; LoadAfter = Get-Load; Json = $json }
    if ($exit -ne 0) { Write-Warning "scenario ($s) failed with exit code $exit" }
}

$moduleJson = Join-Path $results 'e.json'
Remove-Item -Force -ErrorAction SilentlyContinue $moduleJson
$moduleArgs = @{ OutFile = $moduleJson }
if ($ModulePath) { $moduleArgs.ModulePath = $ModulePath }
& (Join-Path $PSScriptRoot 'module-bench.ps1') @moduleArgs
$runs | ConvertTo-Json | Set-Content -Path $runsFile -Encoding utf8NoBOM
}

$moduleJson = Join-Path $results 'e.json'

# ----- render -----
. (Join-Path $PSScriptRoot 'BenchAnalysis.ps1')

$inv = [Globalization.CultureInfo]::InvariantCulture
function Format-Number([double] $value, [string] $format) { $value.ToString($format, $inv) }
$cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
$memGiB = [math]::Round(((Get-Content /proc/meminfo | Select-Object -First 1) -replace '\D', '') / 1MB, 1)
$lines = [Collections.Generic.List[string]]::new()
# Every target and row of this run, for the analysis's placeholders.
$allTargets = [Collections.Generic.List[object]]::new()
$lines.Add('# DataraxCkpt benchmarks')
$lines.Add('')
$lines.Add('Written by `bench/run-all.ps1` (`build.ps1 -Task Bench`); do not edit the figures by hand.')
$lines.Add('')
$lines.Add("- Date: $([DateTime]::UtcNow.ToString('yyyy-MM-dd HH:mm', $inv)) UTC; commit $(& git -C $root rev-parse --short HEAD 2>$null)")
$lines.Add("- Machine: $([Environment]::ProcessorCount) cores ($cpu), $memGiB GiB RAM, $([Runtime.InteropServices.RuntimeInformation]::OSDescription)")
$lines.Add("- Runtime: .NET $([Environment]::Version); each scenario is one process run; engine and baselines alternate inside it; figures are medians.")
$lines.Add('- MB/s are of state bytes (10^6 bytes/s). Ratio = baseline time / engine time (above 1: the engine is faster).')
$lines.Add('- Peak RSS: growth of the process peak (VmHWM, reset through /proc/self/clear_refs before each operation) over its RSS just before the operation; the largest over all repetitions. n/a for child processes (lz4 tool).')
$lines.Add('')

foreach ($s in $runs.Keys) {
    $run = $runs[$s]
    if (-not (Test-Path $run.Json)) {
        $lines.Add("## ($s) failed"); $lines.Add(''); $lines.Add("The scenario exited with code $($run.Exit) and wrote no results."); $lines.Add('')
        continue
    }

    $r = Get-Content $run.Json -Raw | ConvertFrom-Json
    foreach ($t in $r.Targets) { $allTargets.Add($t) }
    $lines.Add("## ($($r.Scenario)) $($r.Title)")
    $lines.Add('')
    $lines.Add("Median of $($r.Repetitions) repetitions; run took $(Format-Number $run.Seconds 'F0') s; load average $($run.LoadBefore) before, $($run.LoadAfter) after.")
    $lines.Add('')
    $engine = @{}
    foreach ($row in $r.Rows) { if ($row.Name -like 'DataraxCkpt save*') { $engine.save = $row }; if ($row.Name -like 'DataraxCkpt restore*') { $engine.restore = $row } }
    $hasBytes = @($r.Rows | Where-Object { $_.StateBytes -gt 0 }).Count -gt 0
    if ($hasBytes) {
        $lines.Add('| operation | median | MB/s | engine vs this | stored/raw | peak RSS growth |')
        $lines.Add('|---|---:|---:|---:|---:|---:|')
    } else {
        $lines.Add('| operation | median | peak RSS growth |')
        $lines.Add('|---|---:|---:|')
    }

    foreach ($row in $r.Rows) {
        $ms = Format-Number ($row.MedianSeconds * 1000) 'F1'
        $peak = if ($row.MaxPeakGrowthBytes -lt 0) { 'n/a' } else { (Format-Number ($row.MaxPeakGrowthBytes / 1MB) 'F0') + ' MiB' }
        if (-not $hasBytes) { $lines.Add("| $($row.Name) | $ms ms | $peak |"); continue }
        $isRestore = $row.Name -match 'read|load|restore|decompress|until durable|returns'
        $mine = if ($isRestore) { $engine['restore'] } else { $engine['save'] }
        $vs = if ($row.Name -like 'DataraxCkpt*' -or -not $mine) { '' } else { (Format-Number ($row.MedianSeconds / $mine.MedianSeconds) 'F2') + '×' }
        $stored = if ($null -ne $row.StoredBytes) { Format-Number ($row.StoredBytes / $row.StateBytes) 'F3' } else { '' }
        $lines.Add("| $($row.Name) | $ms ms | $(Format-Number $row.MegabytesPerSecond 'F0') | $vs | $stored | $peak |")
    }

    $lines.Add('')
    foreach ($t in $r.Targets) {
        $mark = if ($null -eq $t.Met) { 'NOT JUDGED' } elseif ($t.Met) { 'MET' } else { 'MISSED' }
        $lines.Add("- **$mark** $($t.Goal): $($t.Measured)")
    }

    foreach ($n in $r.Notes) { $lines.Add("- note: $n") }
    $lines.Add('')
}

$lines.Add('## (e) PowerShell module')
$lines.Add('')
if (Test-Path $moduleJson) {
    $e = Get-Content $moduleJson -Raw | ConvertFrom-Json
    if ($e.PSObject.Properties['Skipped']) {
        $lines.Add("Skipped: $($e.Skipped)")
    } else {
        $lines.Add("Module: ``$($e.Module)``; medians of $($e.Repetitions) repetitions (Import-Module: each in a fresh pwsh).")
        $lines.Add('')
        $lines.Add("- Import-Module in a fresh pwsh: $(Format-Number $e.ImportSeconds 'F3') s — **$(if ($e.ImportSeconds -lt 0.5) { 'MET' } else { 'MISSED' })** (target under 0.5 s)")
        $allTargets.Add([pscustomobject]@{ Goal = '(e) Import-Module in a fresh pwsh under 0.5 s'; Measured = "$(Format-Number $e.ImportSeconds 'F3') s"; Met = $e.ImportSeconds -lt 0.5 })
        $lines.Add("- Get-Checkpoint on a $($e.Steps)-step store in a warm session: $(Format-Number ($e.GetCheckpointSeconds * 1000) 'F1') ms")
        foreach ($r in @(if ($e.PSObject.Properties['Restores']) { $e.Restores })) {
            # Same pwsh process, alternating order; ratio = raw time / cmdlet time (higher is better).
            foreach ($pair in @(
                @{ Goal = "(e) Restore-Checkpoint ≥ 0.85× a compiled raw read into new arrays ($($r.MiB) MiB)"; Engine = $r.Restore; Raw = $r.Raw; Floor = 0.85 },
                @{ Goal = "(e) Restore-Checkpoint -Into ≥ 0.9× a compiled raw read into preallocated arrays ($($r.MiB) MiB)"; Engine = $r.RestoreInto; Raw = $r.RawInto; Floor = 0.9 })) {
                $ratio = $pair.Raw / $pair.Engine
                $measured = "$(Format-Number $ratio 'F2')× ($(Format-Number ($pair.Engine * 1000) 'F0') vs $(Format-Number ($pair.Raw * 1000) 'F0') ms)"
                $met = $ratio -ge $pair.Floor
                $lines.Add("- **$(if ($met) { 'MET' } else { 'MISSED' })** $($pair.Goal): $measured")
                $allTargets.Add([pscustomobject]@{ Goal = $pair.Goal; Measured = $measured; Met = $met })
            }
        }
    }
} else {
    $lines.Add('Not run: bench/module-bench.ps1 wrote no result.')
}

$lines.Add('')
if (Test-Path -LiteralPath $AnalysisPath) {
    $lines.Add($AnalysisMarker)
    $lines.Add((Format-Analysis (Get-Content -Raw -LiteralPath $AnalysisPath) $allTargets))
}
Set-Content -Path $Output -Value $lines -Encoding utf8NoBOM
Write-Host "Wrote $Output"
