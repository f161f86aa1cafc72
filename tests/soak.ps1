#requires -Version 7.4
<#
.SYNOPSIS
    Long soak of the reliability suites (issue 5): the CI tests of tests/Unit/Reliability, scaled up.

.DESCRIPTION
    Called by `build.ps1 -Task Soak`. Runs the tests tagged Category=Reliability with many more
    random-time kills, a longer multi-process load, many more fuzz cases and every crash state of the
    crash-state explorer, through the environment variables that tests/Unit/Reliability/ReliabilityScale.cs
    and tests/Unit/Reliability/CrashStates/CrashStateExplorer.cs read. Every suite prints its figures
    as "FIGURE guarantee N | what | figures" lines; they are also collected in -FiguresPath.
    Exits non-zero when any guarantee failed.

.EXAMPLE
    ./tests/soak.ps1 -Kills 500 -LoadSeconds 1800 -FuzzCases 250000
#>
[CmdletBinding()]
param(
    # Random-time SIGKILLs of a child saving in a loop (CI: 10).
    [ValidateRange(1, 100000)] [int] $Kills = 200,
    # Seconds the multi-process load runs (CI: 30).
    [ValidateRange(1, 86400)] [int] $LoadSeconds = 600,
    # Manifest fuzzer cases; the frame-reader fuzzer runs twice as many (CI: 2,000).
    [ValidateRange(1, 100000000)] [int] $FuzzCases = 100000,
    # Distinct crash states checked per operation by the crash-state explorer (CI: 30); the default
    # explores every state the generator yields.
    [ValidateRange(1, 100000000)] [int] $CrashStates = 1000000,
    # Seed of every random choice; a failure reproduces with the same seed.
    [int] $Seed = 20261128,
    [string] $Configuration = 'Release',
    [string] $FiguresPath = (Join-Path $PSScriptRoot '..' 'artifacts' 'soak-figures.txt')
)

$ErrorActionPreference = 'Stop'
$project = Join-Path $PSScriptRoot 'Unit' 'DataraxCkpt.Tests.csproj'
$null = New-Item -ItemType Directory -Force -Path (Split-Path $FiguresPath)
Remove-Item -LiteralPath $FiguresPath -ErrorAction Ignore

$knobs = @{
    DATARAXCKPT_SOAK_KILLS    = $Kills
    DATARAXCKPT_LOAD_SECONDS  = $LoadSeconds
    DATARAXCKPT_FUZZ_CASES    = $FuzzCases
    DATARAXCKPT_CRASH_STATES  = $CrashStates
    DATARAXCKPT_SOAK_SEED     = $Seed
    DATARAXCKPT_FIGURES_FILE  = (Resolve-Path -LiteralPath (Split-Path $FiguresPath)).Path + [IO.Path]::DirectorySeparatorChar + (Split-Path -Leaf $FiguresPath)
}
$saved = @{}
foreach ($name in $knobs.Keys) {
    $saved[$name] = [Environment]::GetEnvironmentVariable($name)
    [Environment]::SetEnvironmentVariable($name, [string]$knobs[$name])
}

try {
    Write-Host "Soak: $Kills kills, $LoadSeconds s of load, $FuzzCases fuzz cases, up to $CrashStates crash states per operation, seed $Seed ($Configuration)"
    & dotnet test $project -c $Configuration --filter 'Category=Reliability' --logger 'console;verbosity=normal'
    $code = $LASTEXITCODE
}
finally {
    foreach ($name in $knobs.Keys) {
        [Environment]::SetEnvironmentVariable($name, $saved[$name])
    }
}

if (Test-Path -LiteralPath $FiguresPath) {
    Write-Host "`nFigures ($FiguresPath):"
    Get-Content -LiteralPath $FiguresPath | ForEach-Object { Write-Host "  $_" }
}

if ($code -ne 0) {
    Write-Error "Soak failed: a reliability guarantee did not hold (dotnet test exit $code)." -ErrorAction Continue
}

exit $code
