#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Scenario (e), state shapes (issue 15): Save-Checkpoint and Restore-Checkpoint against what a pwsh user
    would use instead (ConvertTo-Json | Set-Content, Get-Content -Raw | ConvertFrom-Json -AsHashtable,
    Export-Clixml, Import-Clixml) on the same states, in this one pwsh process.
.DESCRIPTION
    States: a hashtable of 100,000 ints; 2,000 nested configs (name, lr, tags array, bool); 4 arrays of
    256k doubles; 8 arrays of 1M floats. Each way first saves and restores each state once, timed on rows
    of their own ("its first call in this pwsh" for the first state, "its first call on this state" for the later
    ones, which run warm from the earlier states) and kept out of the medians; then each repetition runs the
    three ways, each way's save then restore; figures are medians. On the ints and configs states a fourth way only
    saves: the same JSON written crash-safe (bench/CrashSafeJson.ps1), what a checkpoint step keeps through a crash
    and ConvertTo-Json | Set-Content does not; a note gives the module against it, with no target. The ints and configs states (their targets
    are module-vs-JSON ratios of millisecond operations) run -PairedRepetitions repetitions with the module
    and JSON next to each other, which goes first alternating (A B, B A, B A, A B; the crash-safe JSON save on the
    module's other side), and their targets take the
    median of the per-repetition ratios, with the spread, after -WarmRepetitions unmeasured repetitions of every
    way (ConvertTo-Json and the module both take several calls in a process to reach their steady time); the array
    states run -Repetitions in a rotated order. A baseline whose
    first call takes longer than -BaselineBudgetSeconds is not repeated (its row says so), which bounds the
    run on the large arrays.
    Per operation: the time, the stored bytes, and the growth of the process's peak RSS (VmHWM, reset
    through /proc/self/clear_refs before the operation) over its RSS just before it; the largest over
    the repetitions. Prints the result as JSON, and writes it to -OutFile.
.PARAMETER ModulePath
    The module manifest (.psd1) to import.
.PARAMETER BaselineBudgetSeconds
    A baseline whose first save and restore together take longer runs only once.
.PARAMETER WarmRepetitions
    Unmeasured repetitions of every way on the ints and configs states, after the first calls and before the
    measured ones: in session 23 (round 67 of docs/performance-notes.md) ConvertTo-Json | Set-Content of the
    100,000 ints took 40-68 ms in its first six repetitions and 14-17 ms from the seventh on, the module's save
    40-48 ms and then 21-23 ms, so measured repetitions that start right after the first calls judge both ways
    while they still get faster.
.PARAMETER Scale
    Multiplies every state's size (1 = the sizes above); tests use a small scale.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $OutFile,
    [int] $Repetitions = 3,
    # Repetitions of the states whose targets are module-vs-JSON ratios of operations taking milliseconds (ints,
    # configs): many, judged on the median of per-repetition ratios.
    [int] $PairedRepetitions = 11,
    [int] $WarmRepetitions = 8,
    [double] $Scale = 1.0,
    [double] $BaselineBudgetSeconds = 30,
    # Which states to run (ints, configs, doubles, floats); all by default.
    [string[]] $States = @('ints', 'configs', 'doubles', 'floats')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module $ModulePath
. (Join-Path $PSScriptRoot 'PairedRatio.ps1')
. (Join-Path $PSScriptRoot 'CrashSafeJson.ps1')
$inv = [Globalization.CultureInfo]::InvariantCulture
$work = Join-Path ([IO.Path]::GetTempPath()) "dxck-bench-states-$PID"
New-Item -ItemType Directory -Force -Path $work | Out-Null

# The step of each way's first (unmeasured) save; the repetitions save steps 1..N.
$firstStep = 1000000
function Get-Size([int] $n) { [math]::Max(1, [int][math]::Round($n * $Scale)) }
function Get-SizeText([int] $n) { (Get-Size $n).ToString('N0', $inv) }

# ----- the states -----
function New-IntsState {
    $n = Get-Size 100000
    $state = @{}
    for ($i = 0; $i -lt $n; $i++) { $state["k$i"] = $i }
    $state
}

. (Join-Path $PSScriptRoot 'ConfigsState.ps1')
function New-ScaledConfigsState { New-ConfigsState (Get-Size 2000) }

# Fills arrays in C# speed: a PowerShell loop over 8M floats would dominate the run.
Add-Type -TypeDefinition @'
public static class DxckBenchFill {
    public static void Doubles(double[] a, int seed) { var r = new System.Random(seed); for (int i = 0; i < a.Length; i++) a[i] = r.NextDouble() * 2 - 1; }
    public static void Floats(float[] a, int seed) { var r = new System.Random(seed); for (int i = 0; i < a.Length; i++) a[i] = (float)(r.NextDouble() * 2 - 1); }
}
'@

function New-DoublesState {
    $state = @{}
    for ($a = 0; $a -lt 4; $a++) { $x = [double[]]::new((Get-Size 262144)); [DxckBenchFill]::Doubles($x, $a); $state["w$a"] = $x }
    $state
}

function New-FloatsState {
    $state = @{}
    for ($a = 0; $a -lt 8; $a++) { $x = [float[]]::new((Get-Size 1048576)); [DxckBenchFill]::Floats($x, $a); $state["w$a"] = $x }
    $state
}

$allStates = @(
    [pscustomobject]@{ Key = 'ints'; Title = "hashtable of $(Get-SizeText 100000) ints"; Make = ${function:New-IntsState} }
    [pscustomobject]@{ Key = 'configs'; Title = "$(Get-SizeText 2000) nested configs (name, lr, tags array, bool)"; Make = ${function:New-ScaledConfigsState} }
    [pscustomobject]@{ Key = 'doubles'; Title = "4 arrays of $(Get-SizeText 262144) doubles"; Make = ${function:New-DoublesState} }
    [pscustomobject]@{ Key = 'floats'; Title = "8 arrays of $(Get-SizeText 1048576) floats"; Make = ${function:New-FloatsState} }
)

# ----- measuring -----
function Get-Status([string] $field) {
    foreach ($line in [IO.File]::ReadAllLines('/proc/self/status')) {
        if ($line.StartsWith($field + ':', [StringComparison]::Ordinal)) { return [long](($line -replace '\D', '')) * 1024 }
    }
    -1
}

function Measure-Operation([scriptblock] $Operation) {
    # Peak RSS growth over the RSS just before: resetting VmHWM (clear_refs 5) makes it start from now.
    $canReset = $true
    try { [IO.File]::WriteAllText('/proc/self/clear_refs', '5') } catch { $canReset = $false }
    $before = Get-Status 'VmRSS'
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $result = & $Operation
    $seconds = $clock.Elapsed.TotalSeconds
    $peak = if ($canReset) { [math]::Max(0, (Get-Status 'VmHWM') - $before) } else { -1 }
    [pscustomobject]@{ Seconds = $seconds; PeakGrowth = $peak; Result = $result }
}

function Get-WayOperations($way) { if ($way['Restore']) { 'Save', 'Restore' } else { 'Save' } }

function Get-StoredBytes([string] $path) {
    if (Test-Path -LiteralPath $path -PathType Leaf) { return (Get-Item -LiteralPath $path).Length }
    [long](Get-ChildItem -LiteralPath $path -Recurse -File | Measure-Object -Property Length -Sum).Sum
}

function Get-Median([double[]] $values) {
    $sorted = [double[]]$values.Clone(); [Array]::Sort($sorted)
    $sorted[[int][math]::Floor(($sorted.Length - 1) / 2)]
}

# The ways; each saves a state to a place of its own and restores it from there. A way with States runs on those states
# only, and one without Restore only saves.
$ways = [ordered]@{
    module = @{
        Save = { param($state, $place, $rep) Save-Checkpoint -LiteralPath $place -InputObject $state -Step $rep }
        Restore = { param($place, $rep) Restore-Checkpoint -LiteralPath $place -Step $rep }
        Stored = { param($place, $rep) Get-StoredBytes (Join-Path $place "$rep") }
        SaveName = 'Save-Checkpoint'; RestoreName = 'Restore-Checkpoint'
    }
    json = @{
        Save = { param($state, $place, $rep) $state | ConvertTo-Json -Depth 100 -Compress:$false | Set-Content -LiteralPath $place -Encoding utf8NoBOM }
        Restore = { param($place, $rep) Get-Content -Raw -LiteralPath $place | ConvertFrom-Json -AsHashtable }
        Stored = { param($place, $rep) Get-StoredBytes $place }
        SaveName = 'ConvertTo-Json -Depth 100 | Set-Content'; RestoreName = 'Get-Content -Raw | ConvertFrom-Json -AsHashtable'
    }
    # What a checkpoint step promises and the line above does not (the old state or the new one after a crash or a power
    # loss): its restore is JSON's, so it only saves. On the states of the module-vs-JSON targets, whose saves take
    # milliseconds, where a flush is a large share.
    jsoncrashsafe = @{
        Save = { param($state, $place, $rep) Save-JsonCrashSafe $state $place }
        Restore = $null
        Stored = { param($place, $rep) Get-StoredBytes $place }
        SaveName = 'ConvertTo-Json -Depth 100 | Set-Content, crash-safe (temporary file, fsync, rename, directory fsync)'
        States = @('ints', 'configs')
    }
    clixml = @{
        Save = { param($state, $place, $rep) Export-Clixml -LiteralPath $place -InputObject $state -Depth 100 }
        Restore = { param($place, $rep) Import-Clixml -LiteralPath $place }
        Stored = { param($place, $rep) Get-StoredBytes $place }
        SaveName = 'Export-Clixml -Depth 100'; RestoreName = 'Import-Clixml'
    }
}

# The profile of a module save and restore, part by part (issue 15 asks where the time goes): the
# module's conversions and the engine's calls, each alone, on the same state. What the cmdlets take
# beyond their sum is parameter binding, path resolution, opening the store and writing the output.
function Measure-Parts($state, [string] $dir) {
    $cmdlets = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'DataraxCkpt.Cmdlets' } | Select-Object -First 1
    $engine = [Runtime.Loader.AssemblyLoadContext]::All.Assemblies | Where-Object { $_.GetName().Name -eq 'DataraxCkpt.Engine' } | Select-Object -First 1
    $static = [Reflection.BindingFlags]'Public,Static'
    $toEngine = @($cmdlets.GetType('DataraxCkpt.Commands.Conversion.StateToEngine', $true).GetMethods($static) | Where-Object { $_.Name -eq 'Convert' -and $_.GetParameters().Count -eq 3 -and $_.GetParameters()[1].ParameterType -eq [Collections.IDictionary] })[0]
    if (-not $toEngine) { throw 'StateToEngine.Convert(state, metadata, out convertedMetadata) not found in the module''s cmdlets assembly' }
    $fromEngine = $cmdlets.GetType('DataraxCkpt.Commands.Conversion.StateFromEngine', $true).GetMethod('Convert', $static)
    $handler = [Activator]::CreateInstance($engine.GetType('DataraxCkpt.CheckpointHandler', $true))
    $parts = [ordered]@{ toEngine = [Collections.Generic.List[double]]::new(); save = [Collections.Generic.List[double]]::new(); restore = [Collections.Generic.List[double]]::new(); fromEngine = [Collections.Generic.List[double]]::new() }
    try {
        for ($rep = 1; $rep -le $Repetitions; $rep++) {
            $step = [long](1000 + $rep)
            [GC]::Collect()
            $clock = [Diagnostics.Stopwatch]::StartNew(); $converted = $toEngine.Invoke($null, [object[]]@($state, $null, $null)); $parts.toEngine.Add($clock.Elapsed.TotalSeconds)
            [GC]::Collect()
            $clock = [Diagnostics.Stopwatch]::StartNew(); $null = $handler.Save($dir, $converted, $step, $null, $false, $null, [Threading.CancellationToken]::None); $parts.save.Add($clock.Elapsed.TotalSeconds)
            $converted = $null
            [GC]::Collect()
            $clock = [Diagnostics.Stopwatch]::StartNew(); $restored = $handler.Restore($dir, $step, [Threading.CancellationToken]::None); $parts.restore.Add($clock.Elapsed.TotalSeconds)
            $clock = [Diagnostics.Stopwatch]::StartNew(); $null = $fromEngine.Invoke($null, [object[]]@(, $restored)); $parts.fromEngine.Add($clock.Elapsed.TotalSeconds)
            $restored = $null
        }
    }
    finally {
        $handler.Dispose()
    }

    $names = @{
        toEngine = @('Save', 'the module''s conversion alone (StateToEngine)')
        save = @('Save', 'the engine alone (CheckpointHandler.Save)')
        restore = @('Restore', 'the engine alone (CheckpointHandler.Restore)')
        fromEngine = @('Restore', 'the module''s conversion alone (StateFromEngine)')
    }
    foreach ($key in $parts.Keys) {
        [pscustomobject]@{
            State = $s.Key; StateTitle = $s.Title; Way = 'part'; Operation = $names[$key][0]; Name = $names[$key][1]
            Runs = $parts[$key].Count; MedianSeconds = Get-Median $parts[$key].ToArray(); Ratio = $null; StoredBytes = $null; MaxPeakGrowthBytes = -1
        }
    }
}

$rows = [Collections.Generic.List[object]]::new()
$targets = [Collections.Generic.List[object]]::new()
$notes = [Collections.Generic.List[string]]::new()
$loadBefore = (Get-Content /proc/loadavg -Raw).Split(' ')[0..2] -join ' '
$statesRun = 0
$pairedStates = @('ints', 'configs')

try {
    foreach ($s in @($allStates | Where-Object { $_.Key -in $States })) {
        $state = & $s.Make
        $dir = Join-Path $work $s.Key
        # An existing store, as a user saving step after step has: its creation is not part of a save.
        Save-Checkpoint -LiteralPath $dir -InputObject @{ warm = 1 } -Step 0
        $times = @{}; $peaks = @{}; $stored = @{}; $skipped = @{}
        $order = @($ways.Keys | Where-Object { -not $ways[$_]['States'] -or $s.Key -in $ways[$_]['States'] })
        foreach ($w in $order) { foreach ($op in (Get-WayOperations $ways[$w])) { $times["$w.$op"] = [Collections.Generic.List[double]]::new(); $peaks["$w.$op"] = [long]-1 } }
        # Each way's first save and restore of the state in this process runs before the repetitions and is
        # reported on its own row ("first call in this pwsh"), not in the medians: in a fresh pwsh the first
        # calls of a way run code that the runtime has not optimised yet (session 10, round 28 of
        # docs/performance-notes.md: the engine called directly costs the same as the cmdlet there), and a
        # script saving step after step pays that once. Its peak memory counts in the save's peak (the
        # first save rents the engine's buffers new), so the peak target still judges the first save.
        $first = @{}
        foreach ($w in $order) {
            $way = $ways[$w]
            $place = if ($w -eq 'module') { $dir } else { Join-Path $work "$($s.Key).$w" }
            [GC]::Collect(); [GC]::WaitForPendingFinalizers()
            $save = Measure-Operation { & $way.Save $state $place $firstStep }
            $first["$w.Save"] = $save.Seconds
            $peaks["$w.Save"] = [math]::Max($peaks["$w.Save"], $save.PeakGrowth)
            $restore = $null
            if ($way['Restore']) {
                [GC]::Collect(); [GC]::WaitForPendingFinalizers()
                $restore = Measure-Operation { & $way.Restore $place $firstStep }
                $restore.Result = $null
                $first["$w.Restore"] = $restore.Seconds
                $peaks["$w.Restore"] = [math]::Max($peaks["$w.Restore"], $restore.PeakGrowth)
            }
            $firstSeconds = $save.Seconds + $(if ($restore) { $restore.Seconds } else { 0 })
            if ($w -ne 'module' -and $firstSeconds -gt $BaselineBudgetSeconds) {
                $skipped[$w] = $true
                $what = if ($restore) { "$($way.SaveName) and $($way.RestoreName) took $($firstSeconds.ToString('F1', $inv)) s in their first call (over the $BaselineBudgetSeconds s budget), so they ran once; their figures are that one run." }
                    else { "$($way.SaveName) took $($firstSeconds.ToString('F1', $inv)) s in its first call (over the $BaselineBudgetSeconds s budget), so it ran once; its figure is that one run." }
                $notes.Add("$($s.Title): $what")
                $times["$w.Save"].Add($save.Seconds)
                if ($restore) { $times["$w.Restore"].Add($restore.Seconds) }
                $stored[$w] = & $way.Stored $place $firstStep
            }
        }

        # The states judged on module-vs-JSON ratios (milliseconds an operation) run many repetitions, the module and
        # JSON next to each other in each, which of the two goes first alternating (CLIXML first or last): each
        # repetition's ratio compares runs that saw the same load, and the target takes their median.
        $paired = $s.Key -in $pairedStates
        $stateReps = if ($paired) { $PairedRepetitions } else { $Repetitions }
        if ($paired) {
            # Unmeasured: the ways' code reaching its steady tier (see -WarmRepetitions); their own step numbers.
            for ($k = 1; $k -le $WarmRepetitions; $k++) {
                foreach ($w in $order) {
                    if ($skipped[$w]) { continue }
                    $way = $ways[$w]
                    $place = if ($w -eq 'module') { $dir } else { Join-Path $work "$($s.Key).$w" }
                    $null = & $way.Save $state $place ($firstStep + $k)
                    if ($way['Restore']) { $null = & $way.Restore $place ($firstStep + $k) }
                }
            }
        }
        for ($rep = 1; $rep -le $stateReps; $rep++) {
            # Otherwise rotated each repetition, so no way always runs first (cold) or right after another's garbage.
            # Paired: the module and JSON as before the crash-safe save came (A B, B A, B A, A B, module = A; CLIXML first
            # or last, bench/analysis.md), the crash-safe JSON save on the module's other side, so it alternates B A,
            # A B, A B, B A with the module: both comparisons adjacent, both balanced against a drift over the four.
            $rotated = if ($paired) { @(@('jsoncrashsafe', 'module', 'json', 'clixml'), @('clixml', 'json', 'module', 'jsoncrashsafe'), @('json', 'module', 'jsoncrashsafe', 'clixml'), @('clixml', 'jsoncrashsafe', 'module', 'json'))[($rep - 1) % 4] | Where-Object { $_ -in $order } }
                else { for ($k = 0; $k -lt $order.Count; $k++) { $order[($k + $rep - 1) % $order.Count] } }
            foreach ($w in $rotated) {
                if ($skipped[$w]) { continue }
                $way = $ways[$w]
                $place = if ($w -eq 'module') { $dir } else { Join-Path $work "$($s.Key).$w" }
                [GC]::Collect(); [GC]::WaitForPendingFinalizers()
                $save = Measure-Operation { & $way.Save $state $place $rep }
                $stored[$w] = & $way.Stored $place $rep
                $times["$w.Save"].Add($save.Seconds)
                $peaks["$w.Save"] = [math]::Max($peaks["$w.Save"], $save.PeakGrowth)
                if (-not $way['Restore']) { continue }
                [GC]::Collect(); [GC]::WaitForPendingFinalizers()
                $restore = Measure-Operation { & $way.Restore $place $rep }
                $restore.Result = $null
                $times["$w.Restore"].Add($restore.Seconds)
                $peaks["$w.Restore"] = [math]::Max($peaks["$w.Restore"], $restore.PeakGrowth)
            }
        }

        $median = @{}
        foreach ($key in $times.Keys) { $median[$key] = Get-Median $times[$key].ToArray() }
        foreach ($w in $order) {
            foreach ($op in (Get-WayOperations $ways[$w])) {
                $rows.Add([pscustomobject]@{
                    State = $s.Key; StateTitle = $s.Title; Way = $w; Operation = $op
                    Name = $ways[$w]["$($op)Name"]
                    Runs = $times["$w.$op"].Count
                    MedianSeconds = $median["$w.$op"]
                    # Baseline time / module time: above 1, the module is faster.
                    Ratio = if ($w -eq 'module') { $null } else { $median["$w.$op"] / $median["module.$op"] }
                    StoredBytes = $stored[$w]
                    MaxPeakGrowthBytes = $peaks["$w.$op"]
                })
            }
        }

        foreach ($w in $order) {
            foreach ($op in (Get-WayOperations $ways[$w])) {
                $rows.Add([pscustomobject]@{
                    State = $s.Key; StateTitle = $s.Title; Way = 'first'; Operation = $op
                    # Only the first state's are the process's first calls: by the next state every way has run already.
                    Name = if ($statesRun -eq 0) { "$($ways[$w]["$($op)Name"]), its first call in this pwsh (not in the medians)" }
                        else { "$($ways[$w]["$($op)Name"]), its first call on this state, after the earlier states in this pwsh (not in the medians)" }
                    Runs = 1; MedianSeconds = $first["$w.$op"]; Ratio = $null; StoredBytes = $null; MaxPeakGrowthBytes = -1
                })
            }
        }

        $statesRun++
        if ($s.Key -in 'ints', 'configs') { foreach ($part in (Measure-Parts $state $dir)) { $rows.Add($part) } }

        $jsonSave = $median['json.Save'] / $median['module.Save']; $jsonRestore = $median['json.Restore'] / $median['module.Restore']
        $clixSave = $median['clixml.Save'] / $median['module.Save']; $clixRestore = $median['clixml.Restore'] / $median['module.Restore']
        $f = { param($x) $x.ToString('F2', $inv) + '×' }
        if ($paired) {
            foreach ($op in 'Save', 'Restore') {
                $goal = if ($op -eq 'Save') { "(e) $($s.Title): Save-Checkpoint ≥ 1.0× ConvertTo-Json | Set-Content" } else { "(e) $($s.Title): Restore-Checkpoint ≥ 1.0× Get-Content | ConvertFrom-Json -AsHashtable" }
                $medians = "$(($median["module.$op"] * 1000).ToString('F0', $inv)) ms vs $(($median["json.$op"] * 1000).ToString('F0', $inv)) ms"
                if ($times["module.$op"].Count -eq $times["json.$op"].Count) {
                    $p = Get-PairedRatio $times["module.$op"].ToArray() $times["json.$op"].ToArray()
                    $targets.Add([pscustomobject]@{ Goal = $goal; Measured = "$(Format-PairedRatio $p); row medians $medians"; Met = $p.Median -ge 1.0 })
                } else {
                    # JSON over its time budget ran once: no pairs, the ratio of the medians (the notes say so).
                    $ratio = $median["json.$op"] / $median["module.$op"]
                    $targets.Add([pscustomobject]@{ Goal = $goal; Measured = "$(& $f $ratio) ($medians; JSON ran once)"; Met = $ratio -ge 1.0 })
                }
            }
            # No target: the module against a JSON save that keeps what a step keeps through a crash (the pairs are
            # adjacent in every repetition, as the module and JSON are).
            if ($times.ContainsKey('jsoncrashsafe.Save') -and -not $skipped['jsoncrashsafe']) {
                $moduleSaves = $times['module.Save'].ToArray(); $safeSaves = $times['jsoncrashsafe.Save'].ToArray()
                $p = Get-PairedRatio $moduleSaves $safeSaves
                $measured = if ($p) { Format-PairedRatio $p } else { Get-PairedRatioProblem $moduleSaves $safeSaves }
                $notes.Add("$($s.Title): Save-Checkpoint against $($ways['jsoncrashsafe'].SaveName), no target (ConvertTo-Json | Set-Content flushes nothing; a checkpoint step is flushed and renamed into place as this file is, and indexed): $measured; row medians $(($median['module.Save'] * 1000).ToString('F1', $inv)) ms vs $(($median['jsoncrashsafe.Save'] * 1000).ToString('F1', $inv)) ms")
            }
        }
        if ($s.Key -eq 'ints') {
            $peak = $peaks['module.Save']; $text = $stored['json']
            $targets.Add([pscustomobject]@{ Goal = "(e) $($s.Title): peak memory of Save-Checkpoint ≤ 3× the JSON text size"; Measured = "$(($peak / 1MB).ToString('F0', $inv)) MiB peak RSS growth, JSON text $(($text / 1MB).ToString('F1', $inv)) MiB ($(($peak / [math]::Max(1, $text)).ToString('F1', $inv))×)"; Met = if ($peak -lt 0) { $null } else { $peak -le 3 * $text } })
        }
        if ($s.Key -eq 'doubles') {
            $lead = [math]::Min($jsonSave, $jsonRestore)
            $targets.Add([pscustomobject]@{ Goal = "(e) $($s.Title): tensors keep their lead, save and restore ≥ 10× ConvertTo-/ConvertFrom-Json"; Measured = "save $(& $f $jsonSave), restore $(& $f $jsonRestore)"; Met = $lead -ge 10 })
        }
        if ($s.Key -eq 'floats') {
            $lead = [math]::Min($clixSave, $clixRestore)
            $targets.Add([pscustomobject]@{ Goal = "(e) $($s.Title): tensors keep their lead, save and restore ≥ 10× Export-/Import-Clixml"; Measured = "save $(& $f $clixSave), restore $(& $f $clixRestore)"; Met = $lead -ge 10 })
        }

        $state = $null
        Remove-Item -Recurse -Force -LiteralPath $dir -ErrorAction SilentlyContinue
        Get-ChildItem -LiteralPath $work -Filter "$($s.Key).*" | Remove-Item -Force -ErrorAction SilentlyContinue
    }
}
finally {
    Remove-Item -Recurse -Force -LiteralPath $work -ErrorAction SilentlyContinue
}

$result = [ordered]@{
    Repetitions = $Repetitions
    PairedRepetitions = $PairedRepetitions
    WarmRepetitions = $WarmRepetitions
    PairedStates = $pairedStates
    Scale = $Scale
    LoadBefore = $loadBefore
    LoadAfter = (Get-Content /proc/loadavg -Raw).Split(' ')[0..2] -join ' '
    Rows = $rows
    Targets = $targets
    Notes = $notes
}
$json = $result | ConvertTo-Json -Depth 5
if ($OutFile) { Set-Content -LiteralPath $OutFile -Value $json -Encoding utf8NoBOM }
$json
