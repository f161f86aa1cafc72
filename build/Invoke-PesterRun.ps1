#requires -Version 7.4
<#
.SYNOPSIS
    Runs the Pester tests against a built module folder and writes the counts to a JSON file.
    Started by build.ps1 -Task Test in a fresh pwsh; exits non-zero when a test failed or none ran.
#>
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $ModuleRoot,
    [Parameter(Mandatory)] [string] $TestPath,
    [Parameter(Mandatory)] [string] $CountsPath
)

$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force
$env:DATARAXCKPT_MODULE = $ModuleRoot

$configuration = New-PesterConfiguration
$configuration.Run.Path = $TestPath
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
# Plain text: child processes' colored errors would otherwise carry escape codes into the results.
$PSStyle.OutputRendering = 'PlainText'
$env:NO_COLOR = '1'

$result = Invoke-Pester -Configuration $configuration
# Containers that failed to load (a broken BeforeAll, a syntax error) count as failures.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
[ordered]@{
    Passed  = $result.PassedCount
    Failed  = $failed
    Skipped = $result.SkippedCount
    Total   = $result.TotalCount
} | ConvertTo-Json | Set-Content -LiteralPath $CountsPath
exit ([int]($failed -gt 0 -or $result.TotalCount -eq 0))
