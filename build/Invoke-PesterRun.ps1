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
# Skipped, Inconclusive and NotRun tests are listed by name so that build.ps1 can show them and, under
# CI=true, fail on any that tests/test-floor.json does not allow.
$notPassed = @(foreach ($test in $result.Tests) {
    if ($test.Result -in 'Skipped', 'Inconclusive', 'NotRun') {
        [ordered]@{ Name = $test.ExpandedPath; Outcome = $test.Result }
    }
})
[ordered]@{
    Result    = $result.Result
    Passed    = $result.PassedCount
    Failed    = $failed
    Skipped   = $notPassed.Count
    Total     = $result.TotalCount
    NotPassed = $notPassed
    # Every test's name, so that build.ps1 can check that each allowed skip names exactly one test.
    Names     = @($result.Tests | ForEach-Object { $_.ExpandedPath })
    # Why each failed test, block or file failed, for the end of build.ps1's log.
    Failures  = @(foreach ($item in @($result.Failed) + @($result.FailedBlocks) + @($result.FailedContainers)) {
        if (-not $item) { continue }
        $name = if ($item.PSObject.Properties['ExpandedPath']) { $item.ExpandedPath } elseif ($item.PSObject.Properties['Item']) { "$($item.Item)" } else { "$item" }
        [ordered]@{
            Name    = $name
            Message = (@($item.ErrorRecord) | ForEach-Object { "$_" }) -join [Environment]::NewLine
            Stack   = (@($item.ErrorRecord) | ForEach-Object { $_.ScriptStackTrace } | Select-Object -First 1) -join ''
        }
    })
} | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $CountsPath
exit ([int]($failed -gt 0 -or $result.TotalCount -eq 0))
