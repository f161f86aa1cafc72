#requires -Version 7.4
<#
.SYNOPSIS
    Mutation testing of the files that hold the guarantees (issue 13): Stryker.NET over each file of
    build/mutation-targets.json with the tests that cover it, then the scores into
    out/mutation/scores.json and docs/guarantees.md.

.DESCRIPTION
    Called by `build.ps1 -Task Mutate`. Stryker swaps the engine assembly under the test project's bin
    folder while it runs, so each run works in a private copy of the sources (out/mutation/src), never in
    the tree other commands build and test. One file at a time, one test process at a time (-Concurrency),
    so a run fits on a shared two-core machine. Files not named by -Only keep their last recorded score;
    a file never run is rendered as "not run".

.EXAMPLE
    ./build/Invoke-Mutation.ps1 -Only RetentionPlanner,Lz4Frame
#>
[CmdletBinding()]
param(
    # Target names of build/mutation-targets.json to run now (default: all).
    [string[]] $Only,
    [ValidateRange(1, 16)] [int] $Concurrency = 1,
    # Re-read the reports of earlier runs in out/mutation/<name> instead of running Stryker again.
    [switch] $FromReports,
    # Where scores are kept between runs (committed, so the doc can be re-rendered and checked).
    [string] $ScoresPath = (Join-Path $PSScriptRoot 'mutation-scores.json')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$repo = Split-Path $PSScriptRoot
$targets = (Get-Content -Raw -LiteralPath (Join-Path $PSScriptRoot 'mutation-targets.json') | ConvertFrom-Json).targets
if ($Only) {
    # From build.ps1 through pwsh -File, a list arrives as one comma-separated string.
    $Only = @($Only | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
    $unknown = $Only | Where-Object { $_ -notin $targets.name }
    if ($unknown) { throw "Unknown mutation target(s): $($unknown -join ', '). Known: $($targets.name -join ', ')." }
    $targets = $targets | Where-Object name -in $Only
}

$scores = [ordered]@{}
if (Test-Path -LiteralPath $ScoresPath) {
    $previous = Get-Content -Raw -LiteralPath $ScoresPath | ConvertFrom-Json
    foreach ($p in $previous.files) { $scores[$p.name] = $p }
}

$work = Join-Path $repo 'out/mutation'
$copy = Join-Path $work 'src'
function Save-Scores {
    # After every target, so an interrupted run keeps the scores it finished.
    @{ files = @($scores.Values) } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ScoresPath
}
if ($FromReports) { $copy = $null }
elseif (Test-Path -LiteralPath $copy) { Remove-Item -LiteralPath $copy -Recurse -Force }
if ($copy) { $null = New-Item -ItemType Directory -Force -Path $copy }
# The tracked sources only (no bin/obj/out), so the copy builds exactly what is committed plus local edits.
foreach ($file in $(if ($copy) { & git -C $repo ls-files --cached --others --exclude-standard })) {
    $from = Join-Path $repo $file
    if (-not (Test-Path -LiteralPath $from -PathType Leaf)) { continue }
    $to = Join-Path $copy $file
    $null = New-Item -ItemType Directory -Force -Path (Split-Path $to)
    Copy-Item -LiteralPath $from -Destination $to
}

$failures = @()
foreach ($t in $targets) {
    $out = Join-Path $work $t.name
    $started = Get-Date
    $code = 0
    if (-not $FromReports) {
    if (Test-Path -LiteralPath $out) { Remove-Item -LiteralPath $out -Recurse -Force }
    $config = Join-Path $work "$($t.name).stryker-config.json"
    @{
        'stryker-config' = [ordered]@{
            'project'           = 'DataraxCkpt.Engine.csproj'
            'test-projects'     = @((Join-Path $copy 'tests/Unit/DataraxCkpt.Tests.csproj'))
            'mutate'            = @("**/$($t.file)")
            'test-case-filter'  = $t.filter
            'reporters'         = @('json', 'progress', 'cleartext')
            'concurrency'       = $Concurrency
            'configuration'     = 'Release'
            'coverage-analysis' = 'perTest'
            'additional-timeout' = 30000
        }
    } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $config
    Write-Host "==> Mutating $($t.file) against: $($t.filter)"
    Push-Location -LiteralPath (Join-Path $copy 'tests/Unit')
    try {
        & dotnet tool run dotnet-stryker --config-file $config --output $out
        $code = $LASTEXITCODE
    }
    finally { Pop-Location }
    }
    $report = Get-ChildItem -LiteralPath $out -Recurse -Filter 'mutation-report.json' -ErrorAction Ignore | Select-Object -First 1
    if ($code -ne 0 -or -not $report) {
        $failures += "$($t.name) (stryker exit $code)"
        continue
    }
    $json = Get-Content -Raw -LiteralPath $report.FullName | ConvertFrom-Json -Depth 50
    $counts = [ordered]@{ Killed = 0; Survived = 0; Timeout = 0; NoCoverage = 0; CompileError = 0; Ignored = 0; RuntimeError = 0 }
    $survivors = @()
    foreach ($f in $json.files.PSObject.Properties) {
        foreach ($m in $f.Value.mutants) {
            if ($counts.Contains($m.status)) { $counts[$m.status]++ }
            if ($m.status -in 'Survived', 'NoCoverage') {
                $survivors += "line $($m.location.start.line): $($m.mutatorName) -> $($m.replacement)"
            }
        }
    }
    # Stryker's own definition: detected (killed + timeout) over valid mutants (also survived + no coverage).
    $detected = $counts.Killed + $counts.Timeout
    $valid = $detected + $counts.Survived + $counts.NoCoverage
    $scores[$t.name] = [pscustomobject][ordered]@{
        name      = $t.name
        file      = $t.file
        score     = if ($valid) { [math]::Round(100.0 * $detected / $valid, 1) } else { $null }
        killed    = $counts.Killed
        timeout   = $counts.Timeout
        survived  = $counts.Survived
        noCoverage = $counts.NoCoverage
        compileErrors = $counts.CompileError
        date      = $report.LastWriteTimeUtc.ToString('yyyy-MM-dd')
        minutes   = if ($FromReports) { $null } else { [math]::Round(((Get-Date) - $started).TotalMinutes, 1) }
        filter    = $t.filter
        survivors = $survivors
    }
    Save-Scores
    Write-Host ("FIGURE mutation | {0} | {1}% ({2} killed, {3} timeout, {4} survived, {5} no coverage)" -f $t.file, $scores[$t.name].score, $counts.Killed, $counts.Timeout, $counts.Survived, $counts.NoCoverage)
}

Save-Scores
& (Join-Path $PSScriptRoot 'Update-GuaranteeFigures.ps1')
if ($failures) { throw "Mutation run failed for: $($failures -join ', ')" }
