#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Scenario (e): Import-Module time of the DataraxCkpt module in a fresh pwsh, Get-Checkpoint on a
    10,000-step store in a warm session, and Save-/Restore-Checkpoint against JSON and CLIXML on four
    state shapes (bench/module-states.ps1, in one fresh pwsh). Skips with a note when the module is not built.
.PARAMETER ModulePath
    The module manifest (.psd1) or its folder; searched under out/ and src/ when omitted.
.PARAMETER OutFile
    JSON result for bench/run-all.ps1.
.PARAMETER StateRepetitions
    Repetitions of the state-shape comparison (medians of these).
.PARAMETER StateScale
    Size factor of the state shapes (1 = the sizes of issue 15); 0 leaves the comparison out.
#>
[CmdletBinding()]
param(
    [string] $ModulePath,
    [string] $OutFile,
    [int] $Repetitions = 5,
    [int] $Steps = 10000,
    [int] $StateRepetitions = 3,
    [double] $StateScale = 1.0
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = Split-Path -Parent $PSScriptRoot

function Write-Result([hashtable] $result) {
    $json = $result | ConvertTo-Json -Depth 6
    if ($OutFile) { Set-Content -Path $OutFile -Value $json -Encoding utf8NoBOM }
    Write-Output $json
}

if (-not $ModulePath) {
    $found = Get-ChildItem -Path (Join-Path $root 'out'), (Join-Path $root 'src') -Recurse -Filter 'DataraxCkpt.psd1' -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($found) { $ModulePath = $found.FullName }
}

if (-not $ModulePath -or -not (Test-Path $ModulePath)) {
    Write-Result @{ Skipped = 'the DataraxCkpt PowerShell module is not built in this tree (it comes from the module branch); pass -ModulePath to measure it' }
    return
}

if ((Get-Item $ModulePath).PSIsContainer) {
    $ModulePath = (Get-ChildItem -Path $ModulePath -Filter '*.psd1' | Select-Object -First 1).FullName
}

# The same pwsh as this one: an installed executable, or the tool's pwsh.dll run by dotnet.
if (Test-Path (Join-Path $PSHOME 'pwsh') -PathType Leaf) { $pwsh = Join-Path $PSHOME 'pwsh'; $pwshArgs = @() }
else { $pwsh = 'dotnet'; $pwshArgs = @(Join-Path $PSHOME 'pwsh.dll') }
$inv = [Globalization.CultureInfo]::InvariantCulture

# Import time in a fresh process each time: a module is imported once per session.
$imports = foreach ($i in 1..$Repetitions) {
    $script = "`$sw = [Diagnostics.Stopwatch]::StartNew(); Import-Module '$ModulePath'; `$sw.Elapsed.TotalSeconds.ToString([Globalization.CultureInfo]::InvariantCulture)"
    $out = & $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
    if ($LASTEXITCODE -ne 0) { throw "Import-Module failed in a fresh pwsh: $out" }
    [double]::Parse(($out | Select-Object -Last 1), $inv)
}

# A 10,000-step store built the way scenario (d) builds it, then Get-Checkpoint in one warm session.
$work = Join-Path ([IO.Path]::GetTempPath()) "dxck-bench-e-$PID"
$bench = Join-Path $root 'out/bench/bin/DataraxCkpt.Bench.dll'
& dotnet $bench store (Join-Path $work 'store') $Steps
if ($LASTEXITCODE -ne 0) { throw 'building the store failed' }
try {
    $script = @"
Import-Module '$ModulePath'
`$null = Get-Checkpoint '$(Join-Path $work 'store')'
`$times = foreach (`$i in 1..$Repetitions) { `$sw = [Diagnostics.Stopwatch]::StartNew(); `$null = Get-Checkpoint '$(Join-Path $work 'store')'; `$sw.Elapsed.TotalSeconds }
(`$times | Sort-Object)[[int][math]::Floor(`$times.Count / 2)].ToString([Globalization.CultureInfo]::InvariantCulture)
"@
    $out = & $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
    if ($LASTEXITCODE -ne 0) { throw "Get-Checkpoint failed: $out" }
    $get = [double]::Parse(($out | Select-Object -Last 1), $inv)
}
finally {
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $work
}

# The state shapes, in one fresh pwsh of their own: the module against JSON and CLIXML in the same process.
$states = $null
if ($StateScale -gt 0) {
    $statesFile = Join-Path ([IO.Path]::GetTempPath()) "dxck-bench-states-$PID.json"
    try {
        & $pwsh @pwshArgs -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'module-states.ps1') -ModulePath $ModulePath -OutFile $statesFile -Repetitions $StateRepetitions -Scale $StateScale | Out-Null
        if ($LASTEXITCODE -ne 0 -or -not (Test-Path $statesFile)) { throw "bench/module-states.ps1 failed ($LASTEXITCODE)" }
        $states = Get-Content -Raw -LiteralPath $statesFile | ConvertFrom-Json
    }
    finally {
        Remove-Item -Force -ErrorAction SilentlyContinue $statesFile
    }
}

$sorted = $imports | Sort-Object
Write-Result @{
    Module = $ModulePath
    Repetitions = $Repetitions
    Steps = $Steps
    ImportSeconds = $sorted[[int][math]::Floor($sorted.Count / 2)]
    GetCheckpointSeconds = $get
    States = $states
}
