# Attack 28b on round 74 (session 28): the restore pairs of (a), (b) and (e) into new arrays run back to back, before
# the pairs into existing memory. These tests run what the benches run, not what their notes say they run:
# bench/module-bench.ps1's inner restore script (with a stand-in module that records each Restore-Checkpoint call) and
# the order of bench/DataraxCkpt.Bench/TensorScenario.cs's unmeasured calls.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')

    # The inner pwsh script of bench/module-bench.ps1 (the here-string assigned to $restoreScript).
    function Get-Attack28bRestoreScript {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path $RepoRoot 'bench/module-bench.ps1'), [ref] $null, [ref] $null)
        $assignment = $ast.Find({ param($n) $n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Left.Extent.Text -eq '$restoreScript' }, $true)
        $assignment | Should -Not -BeNullOrEmpty
        $assignment.Right.Expression.Value
    }

    # Runs the inner script in a child pwsh against a stand-in module; returns the Restore-Checkpoint calls in order
    # ('new' or 'into') and the script's JSON result.
    function Invoke-Attack28bRestoreScript([int] $Pairs) {
        $dir = Join-Path $TestDrive "restore-$Pairs"
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        $log = Join-Path $dir 'calls.log'
        Remove-Item -LiteralPath $log -ErrorAction SilentlyContinue
        $stub = Join-Path $dir 'Stub.psm1'
        Set-Content -LiteralPath $stub -Encoding utf8NoBOM -Value @"
function Save-Checkpoint { param([Parameter(ValueFromPipeline)] `$InputObject, [Parameter(Position = 0)] `$Path, `$Step) process { } }
function Restore-Checkpoint {
    param([Parameter(Position = 0)] `$Path, `$Step, `$Into)
    Add-Content -LiteralPath '$log' -Value `$(if (`$null -ne `$Into) { 'into' } else { 'new' })
    if (`$null -eq `$Into) { @{ layer0 = [float[]]::new(4) } }
}
"@
        $script = Join-Path $dir 'restore.ps1'
        Set-Content -LiteralPath $script -Encoding utf8NoBOM -Value (Get-Attack28bRestoreScript)
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        $runner = @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { $pwshDll })
        $out = & ([Environment]::ProcessPath) @runner -NoProfile -NonInteractive -File $script $stub $dir 1 $Pairs
        $LASTEXITCODE | Should -Be 0 -Because "$out"
        [pscustomobject]@{ Calls = @(Get-Content -LiteralPath $log); Result = $out | Select-Object -Last 1 | ConvertFrom-Json }
    }
}

Describe 'Attack28b: bench/module-bench.ps1''s restore script runs the order its notes and results say' {
    It 'Attack28b runs the measured Restore-Checkpoint pairs into new arrays back to back, then the pairs -Into, as its result''s NewArraysPairsFirst says' {
        $run = Invoke-Attack28bRestoreScript -Pairs 3
        $run.Result.NewArraysPairsFirst | Should -BeTrue
        $run.Result.Pairs | Should -Be 3
        @($run.Result.Restore).Count | Should -Be 3
        @($run.Result.Raw).Count | Should -Be 3
        @($run.Result.RestoreInto).Count | Should -Be 3
        @($run.Result.RawInto).Count | Should -Be 3
        # The unmeasured calls (a restore, a restore -Into, one more restore after the raw read into new arrays), then 3
        # measured restores into new arrays, then 3 -Into.
        $run.Calls.Count | Should -Be 9
        ($run.Calls[3..8] -join ' ') | Should -Be 'new new new into into into'
        foreach ($key in 'Restore', 'Raw', 'RestoreInto', 'RawInto') { $run.Result.First.$key | Should -BeGreaterThan 0 -Because "run-all.ps1 reads First.$key" }
    }

    It 'Attack28b keeps the unmeasured Restore-Checkpoint the pwsh''s first restore (its time and peak are the first call a user makes)' {
        $run = Invoke-Attack28bRestoreScript -Pairs 1
        $run.Calls[0] | Should -Be 'new' -Because 'the first call of Restore-Checkpoint in the pwsh is the one run-all.ps1 reports as the unmeasured restore''s; -Into ran first since session 28 and took the first call''s costs'
        $run.Calls[1] | Should -Be 'into'
    }

    It 'Attack28b runs the unmeasured raw read into new arrays last of the unmeasured calls, after the -Into pair' {
        $text = Get-Attack28bRestoreScript
        $firsts = [regex]::Matches($text, '\$first\.(\w+)\s*=') | ForEach-Object { $_.Groups[1].Value }
        ($firsts -join ' ') | Should -Be 'Restore RestoreInto RawInto Raw RestoreAgain'
    }

    It 'Attack28b runs one more unmeasured Restore-Checkpoint after the unmeasured raw read into new arrays, before the measured pairs' {
        $run = Invoke-Attack28bRestoreScript -Pairs 1
        ($run.Calls -join ' ') | Should -Be 'new into new new into'
        $run.Result.First.RestoreAgain | Should -BeGreaterThan 0
    }
}

Describe 'Attack28b: TensorScenario''s unmeasured restore pair' {
    BeforeAll {
        $source = Get-Content -Raw -LiteralPath (Join-Path $RepoRoot 'bench/DataraxCkpt.Bench/TensorScenario.cs')
        $start = $source.IndexOf('private static void MeasureRestorePairs(')
        $start | Should -BeGreaterThan 0
        $script:body = $source.Substring($start, $source.IndexOf('private static void RunExternal(') - $start)
    }

    It 'Attack28b runs its measured pairs in RestorePairOrder''s order (not a loop of its own)' {
        $body | Should -Match 'foreach \(var \(comparison, engine\) in RestorePairOrder\.Measured\(pairs\)\)'
        $body | Should -Not -Match 'for \(var pair = 0'
    }

    It 'Attack28b runs the engine''s restore into new arrays first of the unmeasured calls and the raw read into new arrays last' {
        $order = [regex]::Matches($body, 'var (\w+First) = Measure\.Run') | ForEach-Object { $_.Groups[1].Value }
        ($order -join ' ') | Should -Be 'restoreFirst intoFirst preallocatedFirst newArraysFirst' -Because 'the unmeasured restore is the process''s first restore, whose time the note reports and whose peak the peak RSS target judges as the first restore a user makes'
    }

    It 'Attack28b runs one more unmeasured restore into new arrays after the unmeasured raw read into new arrays, and notes its time' {
        # After the reads into existing memory the collector has given memory back: the raw read re-backs it, and the
        # engine's next restore still paid 0.13-0.18 s at 256 MiB (against 0.02) in attack 28b's runs. Unmeasured, noted.
        $body | Should -Match 'var newArraysFirst = Measure\.Run\([^;]+;\s+restored = null;\s+(//[^\n]*\s+)*var restoreAgain = Measure\.Run\(\(\) => restored = handler\.Restore\(ck, 1\)\);'
        $body | Should -Match 'one more unmeasured restore \{restoreAgain\.Seconds:F3\}'
    }
}
