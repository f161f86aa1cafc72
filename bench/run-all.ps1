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
    Scenarios to run (default: a, b, c, d, f, g, h, i; e runs when a module is found). (g) needs Azurite's connection
    string in DATARAXCKPT_TEST_AZURITE (build.ps1 -Task Bench starts it); DATARAXCKPT_BENCH_REMOTE_MIB sets its size.
.PARAMETER Repetitions
    Repetitions per scenario (in (a), (b), (i): of the saves and the external baselines; their cheap
    engine-vs-baseline comparisons run -Pairs measured pairs); the defaults fit the whole run in about a
    quarter of an hour on two idle cores.
.PARAMETER Pairs
    Measured pairs of each cheap comparison of (a), (b) and (i), judged on the median of the per-pair ratios.
    (g)'s remote save and restore keep their own 5 pairs (DataraxCkpt.Bench's default): each save pair and restore pair takes about 20 s.
.PARAMETER QuietLoad
    Before the first scenario, the run waits until the 1-minute load average is below this (checked every
    5 s, at most -QuietWaitSeconds); the report's header says whether it was reached and the load averages.
.PARAMETER QuietWaitSeconds
    The longest wait for a quiet machine (0: no wait).
.PARAMETER ModulePath
    Path of the built DataraxCkpt PowerShell module (.psd1) for scenario (e); searched under out/ when omitted.
.PARAMETER Output
    The Markdown file to write (default docs/benchmarks.md).
#>
[CmdletBinding()]
param(
    [string[]] $Scenarios = @('a', 'b', 'c', 'd', 'f', 'g', 'h', 'i'),
    [hashtable] $Repetitions = @{ a = 3; b = 3; c = 3; d = 5; f = 3; g = 3; h = 21; i = 3 },
    [int] $Pairs = 11,
    [double] $QuietLoad = 1.5,
    [int] $QuietWaitSeconds = 300,
    [string] $ModulePath,
    [string] $Output,
    # Render docs/benchmarks.md again from the last run's results in out/bench, without running anything.
    [switch] $RenderOnly,
    # Where the results are kept (default out/bench).
    [string] $ResultsPath,
    # The analysis to render after the figures (default bench/analysis.md).
    [string] $AnalysisPath,
    # The page whose figures:bench-remote block gets (g)'s figures (default docs/object-store.md; tests give a copy).
    [string] $ObjectStorePath,
    # Size factor of the module's state-shape comparison (1 = issue 15's sizes; 0 leaves it out).
    [double] $ModuleStateScale = 1.0,
    # Repetitions of the module's state-shape comparison.
    [int] $ModuleStateRepetitions = 3
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = Split-Path -Parent $PSScriptRoot
if (-not $Output) { $Output = Join-Path $root 'docs/benchmarks.md' }
$results = if ($ResultsPath) { $ResultsPath } else { Join-Path $root 'out/bench' }
if (-not $AnalysisPath) { $AnalysisPath = Join-Path $PSScriptRoot 'analysis.md' }
New-Item -ItemType Directory -Force -Path $results | Out-Null

$runsFile = Join-Path $results 'runs.json'
# When and on what the figures were measured, kept with them, so that rendering them again later does not
# stamp them with the date and commit of the render (bench/BenchRunRecord.ps1).
. (Join-Path $PSScriptRoot 'BenchRunRecord.ps1')
. (Join-Path $PSScriptRoot 'BenchQuiet.ps1')
. (Join-Path $PSScriptRoot 'BenchFlush.ps1')
$runInfoFile = Join-Path $results $RunInfoName
if ($RenderOnly) {
    $runInfo = if (Test-Path -LiteralPath $runInfoFile) { Get-Content -Raw -LiteralPath $runInfoFile | ConvertFrom-Json }
        else { [pscustomobject]@{ Date = 'not recorded by this run'; Commit = 'not recorded by this run' } }
    $saved = Get-Content $runsFile -Raw | ConvertFrom-Json
    $runs = [ordered]@{}
    foreach ($p in $saved.PSObject.Properties) { $runs[$p.Name] = $p.Value }
} else {
# ----- preflight: what the baselines need, installed from Debian when missing -----
# The bench runs numpy and torch in /usr/bin/python3 (never a pyenv or venv python that may shadow it on
# PATH), and the lz4 tool. numpy and lz4 are installed with apt-get when missing; torch is only reported
# (a multi-gigabyte install is not the bench's to make). Every outcome is written into the report.
function Install-DebianPackage([string] $Package, [scriptblock] $Present) {
    if (& $Present) { return "present" }
    if (-not (Get-Command apt-get -CommandType Application -ErrorAction Ignore)) { return "missing, and apt-get is not available to install Debian's $Package" }
    # (Not `$sudo = if (...) { @() }`: a statement that outputs an empty array assigns $null.)
    $sudo = @()
    if ((& id -u) -ne '0') {
        if (-not (Get-Command sudo -CommandType Application -ErrorAction Ignore)) { return "missing, and this user cannot run apt-get to install Debian's $Package" }
        $sudo = @('sudo', '-n')
    }
    Write-Host "Installing Debian's $Package (apt-get) for the bench's baselines"
    $run = { param([string[]] $Command) $all = @($sudo) + @('env', 'DEBIAN_FRONTEND=noninteractive') + $Command; & $all[0] @($all | Select-Object -Skip 1) | Out-Host; $LASTEXITCODE }
    $code = & $run @('apt-get', 'install', '-y', '-qq', $Package)
    if ($code -ne 0) {
        # A fresh image has no package lists yet.
        $null = & $run @('apt-get', 'update', '-qq')
        $code = & $run @('apt-get', 'install', '-y', '-qq', $Package)
    }
    if (& $Present) { return "installed Debian's $Package with apt-get" }
    "missing: apt-get install $Package failed (exit $code)"
}

function Test-PythonImport([string] $Module) {
    if (-not (Test-Path -LiteralPath '/usr/bin/python3')) { return $false }
    & /usr/bin/python3 -c "import $Module" 2>$null
    $LASTEXITCODE -eq 0
}

$numpy = Install-DebianPackage 'python3-numpy' { Test-PythonImport numpy }
$lz4 = Install-DebianPackage 'lz4' { [bool](Get-Command lz4 -CommandType Application -ErrorAction Ignore) }
$preflight = [ordered]@{
    numpy = if ($numpy -like 'missing*') { "numpy baselines skipped: numpy does not import in /usr/bin/python3 ($numpy)" } else { "numpy in /usr/bin/python3: $numpy" }
    torch = if (Test-PythonImport torch) { 'torch in /usr/bin/python3: present' } else { "torch baselines skipped: torch does not import in /usr/bin/python3 (the bench does not install it; Debian's python3-torch adds these rows)" }
    lz4 = if ($lz4 -like 'missing*') { "lz4 tool baselines skipped: the lz4 tool is $lz4" } else { "lz4 tool: $lz4" }
}
$preflight | ConvertTo-Json | Set-Content -Path (Join-Path $results 'preflight.json') -Encoding utf8NoBOM
foreach ($line in $preflight.Values) { Write-Host "Baselines: $line" }

Write-Host 'Building the bench (Release)...'
& dotnet build (Join-Path $PSScriptRoot 'DataraxCkpt.Bench/DataraxCkpt.Bench.csproj') -c Release --nologo -v quiet -o (Join-Path $results 'bin')
if ($LASTEXITCODE -ne 0) { throw "bench build failed ($LASTEXITCODE)" }
$exe = Join-Path $results 'bin/DataraxCkpt.Bench.dll'

function Get-Load { (Get-Content /proc/loadavg -Raw).Split(' ')[0..2] -join ' ' }

# A machine busy with other work (a CI run just before, another build) moves every figure: wait until it is
# quiet, for a bounded time, and say in the report whether it was.
$quiet = Wait-BenchQuiet -Threshold $QuietLoad -TimeoutSeconds $QuietWaitSeconds -Read { Get-Load }

# Taken now (what is built and measured), written with the results at the end.
$runInfo = Get-BenchRunInfo $root
$runInfo | Add-Member -NotePropertyName Quiet -NotePropertyValue $quiet
Clear-BenchRunRecord $results
$runs = [ordered]@{}
foreach ($s in $Scenarios) {
    $json = Join-Path $results "$s.json"
    Remove-Item -Force -ErrorAction SilentlyContinue $json
    $reps = if ($Repetitions.ContainsKey($s)) { $Repetitions[$s] } else { 3 }
    # The previous scenario's process has exited and deleted its files: their writeback ends here, not under this
    # scenario's fsyncs (bench/BenchFlush.ps1).
    $flush = Invoke-BenchFlush
    $loadBefore = Get-Load
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Write-Host "Scenario ($s), $reps repetitions (load average $loadBefore)..."
    $pairArgs = if ($s -in 'a', 'b', 'i') { @('--pairs', $Pairs) } else { @() }
    & dotnet $exe $s --reps $reps @pairArgs --out $json
    $exit = $LASTEXITCODE
    $runs[$s] = [pscustomobject]@{ Exit = $exit; Seconds = $clock.Elapsed.TotalSeconds; LoadBefore = $loadBefore; LoadAfter = Get-Load; Json = $json; Flush = $flush }
    if ($exit -ne 0) { Write-Warning "scenario ($s) failed with exit code $exit" }
}

$moduleJson = Join-Path $results 'e.json'
Remove-Item -Force -ErrorAction SilentlyContinue $moduleJson
# The bench program built above, under the results path (module-bench.ps1 would otherwise look in out/bench/bin).
$moduleArgs = @{ OutFile = $moduleJson; StateScale = $ModuleStateScale; StateRepetitions = $ModuleStateRepetitions; BenchProgram = $exe }
if ($ModulePath) { $moduleArgs.ModulePath = $ModulePath }
$runInfo | Add-Member -NotePropertyName ModuleFlush -NotePropertyValue (Invoke-BenchFlush)
& (Join-Path $PSScriptRoot 'module-bench.ps1') @moduleArgs
Write-BenchRunRecord $results $runs $runInfo
}

$moduleJson = Join-Path $results 'e.json'

# ----- render -----
. (Join-Path $PSScriptRoot 'BenchAnalysis.ps1')
. (Join-Path $PSScriptRoot 'PairedRatio.ps1')
. (Join-Path $PSScriptRoot 'BenchLifetime.ps1')

$inv = [Globalization.CultureInfo]::InvariantCulture
function Format-Number([double] $value, [string] $format) { $value.ToString($format, $inv) }
# (g) results since session 21 pair the restore with the download as the save with the upload; older results (RenderOnly
# of an earlier folder) took the restore's rows as medians of the repetitions, engine first. Their notes tell them apart.
function Test-RemoteRestorePaired($result) { @($result.Notes | Where-Object { $_ -like 'save and restore: * measured pairs each*' }).Count -gt 0 }
$cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
$memGiB = [math]::Round(((Get-Content /proc/meminfo | Select-Object -First 1) -replace '\D', '') / 1MB, 1)
$lines = [Collections.Generic.List[string]]::new()
# Every target and row of this run, for the analysis's placeholders.
$allTargets = [Collections.Generic.List[object]]::new()
$lines.Add('# DataraxCkpt benchmarks')
$lines.Add('')
$lines.Add('Written by `bench/run-all.ps1` (`build.ps1 -Task Bench`); do not edit the figures by hand.')
$lines.Add('')
$lines.Add("- Date: $($runInfo.Date)$(if ($runInfo.Date -match '^\d') { ' UTC' }); commit $($runInfo.Commit)")
$lines.Add("- Machine: $([Environment]::ProcessorCount) cores ($cpu), $memGiB GiB RAM, $([Runtime.InteropServices.RuntimeInformation]::OSDescription)")
$lines.Add("- Runtime: .NET $([Environment]::Version); each scenario is one process run; engine and baselines alternate inside it; figures are medians.")
$lines.Add('- MB/s are of state bytes (10^6 bytes/s). Ratio = baseline time / engine time (above 1: the engine is faster).')
# Results of runs before paired measurement (RenderOnly of an older results folder) were judged on ratios of medians:
# the header says how these results were judged, not how the current bench would judge them.
$pairedResults = @(foreach ($s in $runs.Keys) {
    $json = $runs[$s].Json
    if ($json -and (Test-Path -LiteralPath $json)) { $j = Get-Content -Raw -LiteralPath $json | ConvertFrom-Json; if ($j.PSObject.Properties['Pairs'] -and $j.Pairs -gt 0) { $s } }
})
if (Test-Path $moduleJson) {
    $ej = Get-Content -Raw -LiteralPath $moduleJson | ConvertFrom-Json
    $restoreResults = @(if ($ej.PSObject.Properties['Restores']) { $ej.Restores })
    if (@($restoreResults | Where-Object { $_ -and $_.PSObject.Properties['Pairs'] }).Count -gt 0 -or
        ($ej.PSObject.Properties['States'] -and $ej.States -and $ej.States.PSObject.Properties['PairedRepetitions'])) { $pairedResults += 'e' }
}
# How (g)'s two remote ratio targets were judged, from its own result: both paired (session 21 on), the save only
# (session 20), or neither; the header must not say otherwise than (g)'s own target lines.
$remoteResult = if ($runs.Contains('g') -and $runs['g'].Json -and (Test-Path -LiteralPath $runs['g'].Json)) { Get-Content -Raw -LiteralPath $runs['g'].Json | ConvertFrom-Json }
$remoteHow = if ($remoteResult -and $remoteResult.PSObject.Properties['Pairs'] -and $remoteResult.Pairs -gt 0) {
    if (Test-RemoteRestorePaired $remoteResult) { "Expensive rows (GiB saves with fsync, numpy, lz4) keep a few repetitions and their targets the ratio of the two rows' medians; (g)'s remote save and restore, seconds of Azurite's CPU each, run as $($remoteResult.Pairs) pairs each and are judged like the cheap pairs." }
    else { "Expensive rows (GiB saves with fsync, numpy, lz4, the remote restore) keep a few repetitions and their targets the ratio of the two rows' medians; (g)'s remote save runs as $($remoteResult.Pairs) pairs and is judged like the cheap pairs." }
} else { "Expensive rows (GiB saves with fsync, numpy, lz4, the remote scenario) keep a few repetitions and their targets the ratio of the two rows' medians." }
if ($pairedResults.Count -eq 0) {
    $lines.Add('- How ratio targets are judged: on the ratio of the two rows'' medians (these results predate paired measurement: a target line without an IQR and a range is such a ratio).')
} else {
$lines.Add('- How ratio targets are judged: where both operations are cheap (well under a second each: the restores against raw reads in (a) and (e), statistics and numeric diff against restores in (i)), the two run as pairs adjacent in time, which goes first alternating (A B, B A, ...), after one unmeasured pair (first calls, first touch of fresh memory; in (a), (b) and (e) one more unmeasured restore into new arrays after it; their times are in a note; (b) runs the same pairs for its table, with no target on them). Save-/Restore-Checkpoint against JSON on the ints and configs states of (e) run as repetitions that each time the module''s save and restore and JSON''s, which side goes first alternating; their first calls are table rows of their own. Each pair''s ratio compares two runs close in time, and the target is judged on the **median of the per-pair ratios**; where that median meets the bar but the lower quartile does not, the verdict is within this machine''s noise, which the line shows. Its line gives that median, the interquartile range (IQR) and range of the per-pair ratios and how many pairs, then the two rows'' medians. ' + $remoteHow + ' The (h) per-leaf targets give the median of their repetitions with the same spread. The table''s "engine vs this" column is always the ratio of row medians.')
}
if ($runInfo.PSObject.Properties['Quiet'] -and $runInfo.Quiet) {
    $q = $runInfo.Quiet
    $lines.Add("- Machine load before the run: $(if ($q.TimeoutSeconds -le 0) { 'no wait asked' } elseif ($q.Reached) { "quiet reached after $(Format-Number $q.WaitedSeconds 'F0') s" } else { "quiet NOT reached within $($q.TimeoutSeconds) s; the run went ahead" }) (wait until the 1-minute load average is below $(Format-Number $q.Threshold 'F1'), checked every $($q.IntervalSeconds) s); load averages (1, 5, 15 min) $($q.LoadAtStart) when the wait began, $($q.LoadAtEnd) when the first scenario started.")
} else {
    $lines.Add('- Machine load before the run: not recorded by this run (no wait for a quiet machine).')
}
$flushRecords = @($runs.Values | Where-Object { $_.PSObject.Properties['Flush'] -and $_.Flush } | ForEach-Object { $_.Flush })
$unflushed = @($flushRecords | Where-Object { -not $_.Flushed })
if ($flushRecords.Count -gt 0 -and $unflushed.Count -gt 0) {
    # A record of a flush that did not happen (no sync command on this OS, or sync failed) is no isolation.
    $lines.Add("- Writeback between scenarios: NOT flushed before $($unflushed.Count) of $($flushRecords.Count) scenarios ($(@($unflushed | ForEach-Object { $_.Problem } | Select-Object -Unique) -join '; ')): those scenarios' fsyncs may have waited behind the writeback of the files the scenario before wrote; each scenario's line says whether it was flushed.")
} elseif ($flushRecords.Count -gt 0) {
    $lines.Add('- Writeback between scenarios: before each scenario, once the previous scenario''s process had exited and deleted its files, the run flushed the file systems (`sync`, which on Linux returns once dirty data is written), so that no scenario''s fsyncs wait behind the writeback of the GiBs the one before wrote; each scenario''s line says how long that flush took. Inside scenarios (a), (b), (c), (d), (f) and (i), the bench program also flushes (libc `sync()`) after untimed setup that writes, before each timed durable write, on every side of a comparison alike (engine, raw file, numpy, torch, lz4); their notes say where and how often. (e), (g) and (h) are flushed only before they start. Neither flush is inside a timing.' + $(if ($runInfo.PSObject.Properties['ModuleFlush'] -and $runInfo.ModuleFlush) { " Before the module's scenario (e): $(Format-BenchFlush ([pscustomobject]@{ Flush = $runInfo.ModuleFlush }))." } else { '' }))
} else {
    $lines.Add('- Writeback between scenarios: not flushed by this run (results from before session 16): a scenario''s fsyncs may have waited behind the writeback of the files the scenario before it wrote.')
}
$preflightFile = Join-Path $results 'preflight.json'
if (Test-Path -LiteralPath $preflightFile) {
    foreach ($p in (Get-Content $preflightFile -Raw | ConvertFrom-Json).PSObject.Properties) { $lines.Add("- Baselines: $($p.Value)") }
}
$lines.Add('- Peak RSS: growth of the process peak (VmHWM, reset through /proc/self/clear_refs before each operation) over its RSS just before the operation; the largest over all repetitions (where paired rows have an unmeasured first call, that call''s peak included: it is the first restore a user makes). n/a for child processes (lz4 tool).')
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
    $pairsText = if (-not ($r.PSObject.Properties['Pairs'] -and $r.Pairs -gt 0)) { '' }
    elseif ($r.Scenario -eq 'g') { if (Test-RemoteRestorePaired $r) { " (listing); the save, upload, restore and download rows: medians of $($r.Pairs) measured pairs" } else { " (restore and download); the save and upload rows: medians of $($r.Pairs) measured pairs" } }
    else { " (saves and external baselines); the restore$(if ($r.Scenario -eq 'i') { ' and inspection' }) rows: medians of $($r.Pairs) measured pairs" }
    $lines.Add("Median of $($r.Repetitions) repetitions$pairsText; run took $(Format-Number $run.Seconds 'F0') s; load average $($run.LoadBefore) before, $($run.LoadAfter) after; $(Format-BenchFlush $run).")
    $lines.Add('')
    $engine = @{}
    # The first engine save and restore rows (a later "restore into existing arrays" row is held to the preallocated read only).
    foreach ($row in $r.Rows) {
        if ($row.Name -like 'DataraxCkpt save*' -and -not $engine['save']) { $engine.save = $row }
        if ($row.Name -like 'DataraxCkpt restore*' -and -not $engine['restore']) { $engine.restore = $row }
    }
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
        $isRestore = $row.Name -match 'read|load|restore|decompress|until durable|returns' -and $row.Name -notmatch 'Upload'
        # A baseline held by a target to an engine row other than the first restore is compared with that row.
        $heldTo = @{ 'raw read into preallocated buffer' = 'DataraxCkpt restore into existing arrays'; 'numpy statistics on restored arrays' = 'DataraxCkpt statistics'; 'numpy numeric diff on restored arrays' = 'DataraxCkpt numeric diff' }
        $heldRow = if ($heldTo.ContainsKey($row.Name)) { @($r.Rows | Where-Object { $_.Name -eq $heldTo[$row.Name] }) | Select-Object -First 1 }
        $mine = if ($heldRow) { $heldRow } elseif ($isRestore) { $engine['restore'] } else { $engine['save'] }
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
        if ($e.PSObject.Properties['States'] -and $e.States) {
            # Issue 15: the module against what a pwsh user would use instead, on the same states in one pwsh.
            $st = $e.States
            $safeStates = @($st.Rows | Where-Object { $_.Way -eq 'jsoncrashsafe' } | ForEach-Object { $_.State } | Select-Object -Unique)
            $lines.Add('')
            $lines.Add('### Save-Checkpoint and Restore-Checkpoint against JSON and CLIXML, by state shape')
            $lines.Add('')
            $lines.Add("``bench/module-states.ps1``, in one fresh pwsh: each way saves and restores each state once first (rows ""its first call"", not in the medians; only the first state's are the process's first calls), then each repetition runs the module, JSON and CLIXML, each a save then a restore of the same state$(if ($safeStates) { ", and on $($safeStates -join ' and ') a crash-safe JSON save as well (the text written to a temporary file, flushed, renamed over the old file and the directory flushed, what a checkpoint step keeps through a crash; saves only, its restore is JSON's)" }); medians of $($st.Repetitions) in a rotated order$(if ($st.PSObject.Properties['PairedRepetitions']) { ", except $(@($st.PairedStates) -join ' and ') (targets: module-vs-JSON ratios of millisecond operations): $($st.PairedRepetitions) repetitions with the module and JSON next to each other, which goes first alternating, the targets judged on the median of the per-repetition ratios$(if ($st.PSObject.Properties['WarmRepetitions']) { ", after $($st.WarmRepetitions) unmeasured repetitions of every way (both reach their steady time only after several calls)" })" }) (a baseline over its time budget runs once: see the notes); state size factor $($st.Scale); load average $($st.LoadBefore) before, $($st.LoadAfter) after. The module saves into an existing checkpoint directory, one new step per repetition. Ratio = the other way's time / the module's (above 1: the module is faster).")
            $lines.Add('')
            $lines.Add('| state | operation | median | runs | module vs this | stored | peak RSS growth |')
            $lines.Add('|---|---|---:|---:|---:|---:|---:|')
            foreach ($row in $st.Rows) {
                $ratio = if ($null -eq $row.Ratio) { '' } else { (Format-Number $row.Ratio 'F2') + '×' }
                $peak = if ($row.MaxPeakGrowthBytes -lt 0) { 'n/a' } else { (Format-Number ($row.MaxPeakGrowthBytes / 1MB) 'F1') + ' MiB' }
                $lines.Add("| $($row.StateTitle) | $($row.Operation) with $($row.Name.Replace('|', '\|')) | $(Format-Number ($row.MedianSeconds * 1000) 'F1') ms | $($row.Runs) | $ratio | $(if ($null -eq $row.StoredBytes) { '' } else { (Format-Number ($row.StoredBytes / 1MB) 'F2') + ' MB' }) | $peak |")
            }

            $lines.Add('')
            foreach ($t in $st.Targets) {
                $mark = if ($null -eq $t.Met) { 'NOT JUDGED' } elseif ($t.Met) { 'MET' } else { 'MISSED' }
                $lines.Add("- **$mark** $($t.Goal): $($t.Measured)")
                $allTargets.Add($t)
            }

            foreach ($n in $st.Notes) { $lines.Add("- note: $n") }
        }
        if ($e.PSObject.Properties['Lifetimes'] -and $e.Lifetimes) {
            $lines.Add('')
            foreach ($l in (Format-LifetimeSection $e.Lifetimes)) { $lines.Add($l) }
        }
        foreach ($r in @(if ($e.PSObject.Properties['Restores']) { $e.Restores })) {
            # Same pwsh process; ratio = raw time / cmdlet time (higher is better). Results with every pair's times
            # (a Pairs field) are judged on the median of the per-pair ratios; older ones held one median per side.
            $paired = [bool]$r.PSObject.Properties['Pairs']
            foreach ($pair in @(
                @{ Goal = "(e) Restore-Checkpoint ≥ 0.85× a compiled raw read into new arrays ($($r.MiB) MiB)"; Engine = $r.Restore; Raw = $r.Raw; Floor = 0.85 },
                @{ Goal = "(e) Restore-Checkpoint -Into ≥ 0.9× a compiled raw read into preallocated arrays ($($r.MiB) MiB)"; Engine = $r.RestoreInto; Raw = $r.RawInto; Floor = 0.9 })) {
                if ($paired) {
                    $engineTimes = [double[]]@($pair.Engine); $rawTimes = [double[]]@($pair.Raw)
                    $p = Get-PairedRatio $engineTimes $rawTimes
                    if ($null -eq $p) {
                        # No measured pairs, or a time that cannot be a measurement: said so, not judged.
                        $measured = Get-PairedRatioProblem $engineTimes $rawTimes
                        $met = $null
                    } else {
                        $measured = "$(Format-PairedRatio $p); row medians $(Format-Number ((Get-BenchQuantile ([double[]]@($engineTimes | Sort-Object)) 0.5) * 1000) 'F0') vs $(Format-Number ((Get-BenchQuantile ([double[]]@($rawTimes | Sort-Object)) 0.5) * 1000) 'F0') ms"
                        $met = $p.Median -ge $pair.Floor
                    }
                } else {
                    $ratio = $pair.Raw / $pair.Engine
                    $measured = "$(Format-Number $ratio 'F2')× ($(Format-Number ($pair.Engine * 1000) 'F0') vs $(Format-Number ($pair.Raw * 1000) 'F0') ms)"
                    $met = $ratio -ge $pair.Floor
                }
                $lines.Add("- **$(if ($null -eq $met) { 'NOT JUDGED' } elseif ($met) { 'MET' } else { 'MISSED' })** $($pair.Goal): $measured")
                $allTargets.Add([pscustomobject]@{ Goal = $pair.Goal; Measured = $measured; Met = $met })
            }
            if ($paired) {
                $fp = $r.First
                $lines.Add("- note: restores at $($r.MiB) MiB: $($r.Pairs) measured pairs per comparison (the cmdlet first in every other pair$(if ($r.PSObject.Properties['NewArraysPairsFirst'] -and $r.NewArraysPairsFirst) { '; the pairs into new arrays back to back, then the pairs into preallocated arrays, and the unmeasured raw read into new arrays after the unmeasured pair into preallocated arrays' })), after one unmeasured pair (s): Restore-Checkpoint $(Format-Number $fp.Restore 'F3'), raw read into new arrays $(Format-Number $fp.Raw 'F3'), Restore-Checkpoint -Into $(Format-Number $fp.RestoreInto 'F3'), raw read into preallocated arrays $(Format-Number $fp.RawInto 'F3')$(if ($fp.PSObject.Properties['RestoreAgain']) { "; then one more unmeasured Restore-Checkpoint $(Format-Number $fp.RestoreAgain 'F3')" })")
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

# The remote scenario's figures also go where users read about costs: docs/object-store.md, between its
# <!-- figures:bench-remote --> markers, whenever this run has them (a run sized by DATARAXCKPT_BENCH_REMOTE_MIB
# says its size in the title and a note).
# A render into another -Output leaves the repository's page alone unless -ObjectStorePath names one (found by
# session 27's attack: rendering a results folder elsewhere rewrote docs/object-store.md).
$objectStore = if ($ObjectStorePath) { $ObjectStorePath } elseif ($PSBoundParameters.ContainsKey('Output')) { $null } else { Join-Path $root 'docs/object-store.md' }
$remoteJson = if ($runs.Contains('g')) { $runs['g'].Json } else { $null }
if ($objectStore -and $remoteJson -and (Test-Path $remoteJson) -and (Test-Path $objectStore)) {
    $g = Get-Content $remoteJson -Raw | ConvertFrom-Json
    $block = [Collections.Generic.List[string]]::new()
    $block.Add("From the bench run (``bench/run-all.ps1``, scenario (g)) on $(if ($runInfo.Date -match '^\d{4}-\d\d-\d\d') { $Matches[0] } else { $runInfo.Date }), commit $($runInfo.Commit): $($g.Title), $(if ($g.PSObject.Properties['Pairs'] -and $g.Pairs -gt 0) { if (Test-RemoteRestorePaired $g) { "save, upload, restore and download: medians of $($g.Pairs) measured pairs" } else { "save and upload: medians of $($g.Pairs) measured pairs; restore and download: median of $($g.Repetitions)" } } else { "median of $($g.Repetitions)" }); the full table is in docs/benchmarks.md, scenario (g).")
    $block.Add('')
    foreach ($row in $g.Rows) { $block.Add("- $($row.Name): $(Format-Number ($row.MedianSeconds * 1000) 'F0') ms ($(Format-Number $row.MegabytesPerSecond 'F0') MB/s)") }
    foreach ($t in $g.Targets) { $block.Add("- $(if ($null -eq $t.Met) { 'NOT JUDGED' } elseif ($t.Met) { 'MET' } else { 'MISSED' }) $($t.Goal): $($t.Measured)") }
    foreach ($n in $g.Notes) { $block.Add("- $n") }
    $text = Get-Content -Raw -LiteralPath $objectStore
    $pattern = '(?s)(<!-- figures:bench-remote -->\r?\n).*?(<!-- /figures:bench-remote -->)'
    if ($text -match $pattern) {
        $text = [regex]::Replace($text, $pattern, { param($m) $m.Groups[1].Value + ($block -join "`n") + "`n" + $m.Groups[2].Value })
        Set-Content -LiteralPath $objectStore -Value $text -NoNewline -Encoding utf8NoBOM
        Write-Host "Wrote the remote figures into $objectStore"
    }
}
