#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Scenario (e): Import-Module time of the DataraxCkpt module in a fresh pwsh, Get-Checkpoint on a
    10,000-step store in a warm session, and Save-/Restore-Checkpoint against JSON and CLIXML on four
    state shapes (bench/module-states.ps1, in one fresh pwsh); Save-Checkpoint over a fresh pwsh's first saves of
    the configs state, with the runtime's default settings and with DOTNET_TieredPGO=0 (bench/module-lifetime.ps1).
    Then Restore-Checkpoint of 8 incompressible float32 arrays against a
    compiled raw read of the same bytes invoked from the same pwsh process (into new arrays; and, for
    Restore-Checkpoint -Into, into preallocated arrays), as -RestorePairs pairs adjacent in time, the two
    alternating which goes first, after one unmeasured pair; every pair's times go into the result.
    Skips with a note when the module is not built.
.PARAMETER RestorePairs
    Measured pairs of each restore comparison (default 11); bench/run-all.ps1 judges on the median of the per-pair ratios.
.PARAMETER RestoreMiB
    State sizes of the restore comparison (default 256 and 1024 MiB; an empty list skips it).
.PARAMETER ModulePath
    The module manifest (.psd1) or its folder; searched under out/ and src/ when omitted.
.PARAMETER OutFile
    JSON result for bench/run-all.ps1.
.PARAMETER StateRepetitions
    Repetitions of the state-shape comparison (medians of these).
.PARAMETER StateScale
    Size factor of the state shapes (1 = the sizes of issue 15); 0 leaves the comparison out.
.PARAMETER LifetimeSaves
    Saves of each fresh pwsh of the over-a-process's-life measurement (bench/module-lifetime.ps1; default 150, 0 leaves it
    out), run in four processes: the runtime's default settings and DOTNET_TieredPGO=0, alternating.
.PARAMETER BenchProgram
    The built bench program (DataraxCkpt.Bench.dll) that builds the 10,000-step store; bench/run-all.ps1 passes
    the one it built under its -ResultsPath. Omitted: out/bench/bin, built there first when missing.
#>
[CmdletBinding()]
param(
    [string] $ModulePath,
    [string] $OutFile,
    [int] $Repetitions = 5,
    [int] $Steps = 10000,
    [int] $StateRepetitions = 3,
    [double] $StateScale = 1.0,
    [int[]] $RestoreMiB = @(256, 1024),
    # Measured pairs of each restore comparison (after one unmeasured pair); the targets take the median of the per-pair ratios.
    [int] $RestorePairs = 11,
    [int] $LifetimeSaves = 150,
    [string] $BenchProgram
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

# The bench program run-all.ps1 built (it follows its -ResultsPath); alone, the default build output, built when missing.
$bench = if ($BenchProgram) { $BenchProgram } else { Join-Path $root 'out/bench/bin/DataraxCkpt.Bench.dll' }
if (-not (Test-Path -LiteralPath $bench -PathType Leaf)) {
    if ($BenchProgram) { throw "the bench program '$BenchProgram' does not exist" }
    & dotnet build (Join-Path $PSScriptRoot 'DataraxCkpt.Bench/DataraxCkpt.Bench.csproj') -c Release --nologo -v quiet -o (Split-Path -Parent $bench)
    if ($LASTEXITCODE -ne 0) { throw "building the bench program failed ($LASTEXITCODE)" }
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

# Save-Checkpoint over a fresh pwsh's first saves, with the runtime's default settings and with tiered PGO off (the
# environment of the child only), alternating so that neither setting always runs on the warmer machine.
$lifetimes = foreach ($pgo in @('default', '0', 'default', '0') | Where-Object { $LifetimeSaves -gt 0 }) {
    $lifetimeFile = Join-Path ([IO.Path]::GetTempPath()) "dxck-bench-lifetime-$PID.json"
    $saved = $env:DOTNET_TieredPGO, $env:COMPlus_TieredPGO
    try {
        # The runtime also reads the older COMPlus_ name: 'default' clears both.
        $env:DOTNET_TieredPGO = if ($pgo -eq 'default') { $null } else { $pgo }
        $env:COMPlus_TieredPGO = $null
        & $pwsh @pwshArgs -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'module-lifetime.ps1') -ModulePath $ModulePath -Saves $LifetimeSaves -OutFile $lifetimeFile | Out-Null
        if ($LASTEXITCODE -ne 0 -or -not (Test-Path $lifetimeFile)) { throw "bench/module-lifetime.ps1 failed ($LASTEXITCODE) with DOTNET_TieredPGO $pgo" }
        Get-Content -Raw -LiteralPath $lifetimeFile | ConvertFrom-Json
    }
    finally {
        $env:DOTNET_TieredPGO, $env:COMPlus_TieredPGO = $saved
        Remove-Item -Force -ErrorAction SilentlyContinue $lifetimeFile
    }
}

# Restore against a compiled raw read, in one pwsh process per size.
$restoreScript = @'
param([string] $ModulePath, [string] $Dir, [int] $MiB, [int] $Pairs)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
Add-Type -TypeDefinition @"
using System;
using System.IO;
using System.Runtime.InteropServices;
public static class RawRead
{
    public static float[][] Random(int count, int elements)
    {
        var random = new System.Random(7);
        var arrays = new float[count][];
        for (var i = 0; i < count; i++) { arrays[i] = new float[elements]; for (var j = 0; j < elements; j++) arrays[i][j] = (float)(random.NextDouble() * 2 - 1); }
        return arrays;
    }
    public static void Write(string path, float[][] arrays)
    {
        using var file = new FileStream(path, FileMode.Create);
        foreach (var a in arrays) file.Write(MemoryMarshal.AsBytes(a.AsSpan()));
    }
    // What a compiled program does to read the bytes into new arrays: uninitialised allocation, then pread.
    public static float[][] IntoNew(string path, int count, int elements)
    {
        var arrays = new float[count][];
        using var handle = File.OpenHandle(path);
        long offset = 0;
        for (var i = 0; i < count; i++) { arrays[i] = GC.AllocateUninitializedArray<float>(elements); offset += Fill(handle, arrays[i], offset); }
        return arrays;
    }
    public static void Into(string path, float[][] arrays)
    {
        using var handle = File.OpenHandle(path);
        long offset = 0;
        foreach (var a in arrays) offset += Fill(handle, a, offset);
    }
    static int Fill(Microsoft.Win32.SafeHandles.SafeFileHandle handle, float[] array, long offset)
    {
        var bytes = MemoryMarshal.AsBytes(array.AsSpan());
        var done = 0;
        while (done < bytes.Length) { var n = RandomAccess.Read(handle, bytes.Slice(done), offset + done); if (n == 0) throw new EndOfStreamException(); done += n; }
        return bytes.Length;
    }
}
"@
$elements = [int]($MiB * 1MB / 4 / 8)
$arrays = [RawRead]::Random(8, $elements)
$state = @{}
for ($i = 0; $i -lt 8; $i++) { $state["layer$i"] = $arrays[$i] }
$ck = Join-Path $Dir 'ck'; $raw = Join-Path $Dir 'raw.bin'
$state | Save-Checkpoint $ck -Step 1
[RawRead]::Write($raw, $arrays)
$into = @{}
# A float[][] from the start: an object[] passed to Into would be converted on every call, element by element.
$pre = [float[][]]::new(8)
foreach ($i in 0..7) { $a = [float[]]::new($elements); [Array]::Fill($a, [float]1); $into["layer$i"] = $a; $pre[$i] = $a }
$arrays = $null; $state = $null
$t = @{ Raw = @(); Restore = @(); RawInto = @(); RestoreInto = @() }
function Time([scriptblock] $op) { [GC]::Collect(); [GC]::WaitForPendingFinalizers(); $sw = [Diagnostics.Stopwatch]::StartNew(); $null = & $op; $sw.Elapsed.TotalSeconds }
# One unmeasured pair of each first (the cmdlets' first calls in this pwsh and the first touch of fresh memory), the
# raw read into new arrays after the pair into existing arrays; then $Pairs measured pairs of each comparison, adjacent in time, which side goes
# first alternating (A B, B A, ...): the targets take the median of the per-pair ratios (bench/run-all.ps1). The pairs
# into new arrays run back to back, before the pairs into existing arrays, so each read into new arrays starts one
# collection after the one before it gave back its arrays, whichever side it is: interleaved with the pairs into
# existing arrays (until session 28), the first of each pair met memory the collector had given back meanwhile and
# paid for it, the second reused the first's (round 74 of docs/performance-notes.md; RestorePairOrder.cs in the bench
# program does the same for (a) and (b)).
# Restore-Checkpoint into new arrays runs first of all, still: its time in the note is the pwsh's first restore, as a
# user's first restore is (attack 28b).
$first = [ordered]@{}
$first.Restore = Time { Restore-Checkpoint $ck -Step 1 }
$first.RestoreInto = Time { Restore-Checkpoint $ck -Step 1 -Into $into }; $first.RawInto = Time { [RawRead]::Into($raw, $pre) }
$first.Raw = Time { [RawRead]::IntoNew($raw, 8, $elements) }
# After the pair into existing arrays the raw read into new arrays meets memory given back, and the engine's next
# restore into new arrays still paid once in the bench program's (a) (attack 28b): one more, unmeasured, in the note.
$first.RestoreAgain = Time { Restore-Checkpoint $ck -Step 1 }
for ($pair = 0; $pair -lt $Pairs; $pair++) {
    $order = if ($pair % 2) { 'Raw', 'Restore' } else { 'Restore', 'Raw' }
    foreach ($o in $order) {
        if ($o -eq 'Raw') { $t.Raw += Time { [RawRead]::IntoNew($raw, 8, $elements) } }
        else { $t.Restore += Time { Restore-Checkpoint $ck -Step 1 } }
    }
}
for ($pair = 0; $pair -lt $Pairs; $pair++) {
    $order = if ($pair % 2) { 'RawInto', 'RestoreInto' } else { 'RestoreInto', 'RawInto' }
    foreach ($o in $order) {
        if ($o -eq 'RawInto') { $t.RawInto += Time { [RawRead]::Into($raw, $pre) } }
        else { $t.RestoreInto += Time { Restore-Checkpoint $ck -Step 1 -Into $into } }
    }
}
# Every measured pair's times (index i of one list ran next to index i of the other) and the unmeasured first pair.
[pscustomobject]@{ MiB = $MiB; Pairs = $Pairs; NewArraysPairsFirst = $true; Raw = $t.Raw; Restore = $t.Restore; RawInto = $t.RawInto; RestoreInto = $t.RestoreInto; First = $first } | ConvertTo-Json -Compress
'@
$restores = foreach ($mib in $RestoreMiB) {
    $dir = Join-Path ([IO.Path]::GetTempPath()) "dxck-bench-e-restore-$PID"
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    $scriptFile = Join-Path $dir 'restore.ps1'
    Set-Content -Path $scriptFile -Value $restoreScript -Encoding utf8NoBOM
    try {
        $out = & $pwsh @pwshArgs -NoProfile -NonInteractive -File $scriptFile $ModulePath $dir $mib $RestorePairs
        if ($LASTEXITCODE -ne 0) { throw "the restore comparison at $mib MiB failed: $out" }
        $out | Select-Object -Last 1 | ConvertFrom-Json
    }
    finally {
        Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $dir
    }
}

$sorted = @($imports | Sort-Object)
Write-Result @{
    Restores = @($restores)
    Module = $ModulePath
    Repetitions = $Repetitions
    Steps = $Steps
    ImportSeconds = $sorted[[int][math]::Floor($sorted.Count / 2)]
    GetCheckpointSeconds = $get
    States = $states
    Lifetimes = @($lifetimes)
}
