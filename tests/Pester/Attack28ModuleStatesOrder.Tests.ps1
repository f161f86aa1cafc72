# Attack 28: the order in which bench/module-states.ps1 runs its ways in each paired repetition of the ints state,
# observed (the ways' commands wrapped by functions of the same name, which PowerShell calls before a cmdlet), not
# read off the script. The module-vs-JSON targets are judged as bench/analysis.md and docs/benchmarks.md say: the
# module and JSON adjacent, which goes first A B, B A, B A, A B (module first in the first and fourth of each four),
# CLIXML first or last; the crash-safe JSON save is adjacent to the module on its other side.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

Describe 'Attack28 bench/module-states.ps1 paired order' {
    It 'Attack28 keeps the module-vs-JSON order of the targets (A B, B A, B A, A B) with the crash-safe save beside the module' {
        $log = Join-Path $TestDrive 'order.txt'
        $hooks = Join-Path $TestDrive 'hooks.ps1'
        $script = Join-Path $RepoRoot 'bench/module-states.ps1'
        Set-Content -LiteralPath $hooks -Value @"
`$ErrorActionPreference = 'Stop'
function global:Save-Checkpoint { param(`$LiteralPath, `$InputObject, `$Step) if (`$Step -ne 0) { Add-Content -LiteralPath '$log' -Value 'module' }; DataraxCkpt\Save-Checkpoint @PSBoundParameters }
function global:Export-Clixml { param(`$LiteralPath, `$InputObject, `$Depth) Add-Content -LiteralPath '$log' -Value 'clixml'; Microsoft.PowerShell.Utility\Export-Clixml @PSBoundParameters }
function global:ConvertTo-Json {
    param([Parameter(ValueFromPipeline)] `$InputObject, [int] `$Depth = 2, [switch] `$Compress)
    begin { `$items = [Collections.Generic.List[object]]::new() }
    process { `$items.Add(`$InputObject) }
    end {
        `$caller = @(Get-PSCallStack)[1].FunctionName
        Add-Content -LiteralPath '$log' -Value `$(if (`$caller -eq 'Save-JsonCrashSafe') { 'jsoncrashsafe' } else { 'json' })
        `$value = if (`$items.Count -eq 1) { `$items[0] } else { `$items.ToArray() }
        Microsoft.PowerShell.Utility\ConvertTo-Json -InputObject `$value -Depth `$Depth -Compress:`$Compress
    }
}
& '$script' -ModulePath '$ModuleManifest' -Repetitions 1 -PairedRepetitions 8 -WarmRepetitions 0 -Scale 0.002 -States ints | Out-Null
"@
        $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $output = & ([Environment]::ProcessPath) @pwshArgs -NoProfile -NonInteractive -File $hooks 2>&1 | ForEach-Object { "$_" }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        $calls = @(Get-Content -LiteralPath $log)
        # First each way's first call (module, json, jsoncrashsafe, clixml), then four saves a repetition.
        $calls[0..3] | Should -Be @('module', 'json', 'jsoncrashsafe', 'clixml')
        $calls.Count | Should -BeGreaterOrEqual (4 + 8 * 4)
        $moduleFirstVsJson = foreach ($rep in 1..8) {
            $order = @($calls[(4 * $rep)..(4 * $rep + 3)])
            ($order | Sort-Object) | Should -Be @('clixml', 'json', 'jsoncrashsafe', 'module') -Because "repetition $rep runs every way once"
            $m = $order.IndexOf('module'); $j = $order.IndexOf('json'); $c = $order.IndexOf('jsoncrashsafe')
            [math]::Abs($m - $j) | Should -Be 1 -Because "repetition $rep ($($order -join ', ')): the module and JSON adjacent"
            [math]::Abs($m - $c) | Should -Be 1 -Because "repetition $rep ($($order -join ', ')): the module and the crash-safe save adjacent"
            $order.IndexOf('clixml') | Should -BeIn @(0, 3) -Because "repetition $rep ($($order -join ', ')): CLIXML first or last"
            $m -lt $j
        }
        $moduleFirstVsJson | Should -Be @($true, $false, $false, $true, $true, $false, $false, $true) -Because 'the targets alternate A B, B A, B A, A B (module = A), as bench/analysis.md says'
    }
}
