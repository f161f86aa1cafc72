#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Scenario (e), over a process's life: the first -Saves saves of one fresh pwsh, Save-Checkpoint of the 2,000
    configs next to ConvertTo-Json | Set-Content of the same state, every save timed.
.DESCRIPTION
    The (e) targets judge repetitions after a few warm-up ones; a user's pwsh makes its first saves too, and .NET's
    tiered compilation promotes the module's methods (and PowerShell's) over tens to a hundred calls, instrumenting
    them for profile-guided optimisation on the way (docs/performance-notes.md, round 72). This script records what
    each save costs along that way: each iteration saves the state with the module and with JSON, which goes first
    alternating, then restores the module's step (a session that saves also restores) and removes steps older than
    the last three, outside the timings. bench/module-bench.ps1 runs it in fresh processes with the runtime's
    default settings and with DOTNET_TieredPGO=0 in their environment, and bench/run-all.ps1 renders the medians
    of each stretch of saves.
.PARAMETER ModulePath
    The module manifest (.psd1) to import.
.PARAMETER Saves
    Saves of each way (default 150).
.PARAMETER OutFile
    JSON result: every save's milliseconds per way, in order.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [ValidateRange(1, [int]::MaxValue)] [int] $Saves = 150,
    [string] $OutFile
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module $ModulePath
. (Join-Path $PSScriptRoot 'ConfigsState.ps1')
. (Join-Path $PSScriptRoot 'BenchLifetime.ps1')

$state = New-ConfigsState 2000
$work = Join-Path ([IO.Path]::GetTempPath()) "dxck-bench-lifetime-$PID"
$ck = Join-Path $work 'ck'
$json = Join-Path $work 'state.json'
New-Item -ItemType Directory -Force -Path $work | Out-Null
$module = [Collections.Generic.List[double]]::new()
$jsonTimes = [Collections.Generic.List[double]]::new()
try {
    for ($i = 1; $i -le $Saves; $i++) {
        $order = if ($i % 2) { 'module', 'json' } else { 'json', 'module' }
        foreach ($way in $order) {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            if ($way -eq 'module') {
                Save-Checkpoint -LiteralPath $ck -InputObject $state -Step $i
                $module.Add($clock.Elapsed.TotalMilliseconds)
            }
            else {
                $state | ConvertTo-Json -Depth 100 -Compress:$false | Set-Content -LiteralPath $json -Encoding utf8NoBOM
                $jsonTimes.Add($clock.Elapsed.TotalMilliseconds)
            }
        }

        $restored = Restore-Checkpoint -LiteralPath $ck -Step $i
        if ($restored.Count -ne $state.Count) { throw "step $i restored $($restored.Count) configs, not $($state.Count)" }
        if ($i -gt 3) { Remove-Checkpoint -LiteralPath $ck -Step ($i - 3) -Confirm:$false }
    }
}
finally {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

$result = [pscustomobject]@{
    Saves = $Saves
    TieredPGO = Get-LifetimeTieredPgo
    RuntimeSettings = Get-LifetimeRuntimeSettings
    ModuleMilliseconds = $module.ToArray()
    JsonMilliseconds = $jsonTimes.ToArray()
} | ConvertTo-Json -Compress
if ($OutFile) { Set-Content -LiteralPath $OutFile -Value $result -Encoding utf8NoBOM }
$result
