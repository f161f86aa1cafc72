# Attack stream24 (session 24): the state-first manifest compressed during the walk, from PowerShell.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Attack stream24: state-first manifests from the cmdlets' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a24s-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'A_PSCustomObject_state_of_many_members_saved_twice_tests_lists_items_and_restores' {
        $o = [ordered]@{}
        foreach ($i in 0..59999) { $o["k$i"] = if ($i % 3) { $i } else { "s$i" } }
        $o['nested'] = [pscustomobject]@{ list = [Collections.ArrayList]@(1..100); text = ('ä"\' * 30000) }
        $state = [pscustomobject]$o
        $state | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $state | Save-Checkpoint -LiteralPath $script:dir -Step 2
        (Test-Checkpoint -LiteralPath $script:dir | Where-Object { -not $_.Ok }) | Should -BeNullOrEmpty
        foreach ($step in 1, 2) {
            @(Get-CheckpointItem -LiteralPath $script:dir -Step $step).Count | Should -BeGreaterThan 60000
            $back = Restore-Checkpoint -LiteralPath $script:dir -Step $step
            $back.k59999 | Should -Be 59999
            $back.k59997 | Should -Be 's59997'
            $back.nested.text | Should -Be ('ä"\' * 30000)
            @($back.nested.list).Count | Should -Be 100
        }
    }

    It 'A_save_refused_mid_walk_leaves_nothing_and_the_next_save_works' {
        $o = [ordered]@{}
        foreach ($i in 0..99999) { $o["k$i"] = $i }
        $o['bad'] = [Diagnostics.Stopwatch]::new()
        { $o | Save-Checkpoint -LiteralPath $script:dir -Step 1 } | Should -Throw
        @(Get-Checkpoint -LiteralPath $script:dir -ErrorAction Ignore).Count | Should -Be 0
        $o.Remove('bad')
        $o | Save-Checkpoint -LiteralPath $script:dir -Step 1
        (Restore-Checkpoint -LiteralPath $script:dir -Step 1).k99999 | Should -Be 99999
        (Test-Checkpoint -LiteralPath $script:dir -Step 1).Ok | Should -BeTrue
    }
}
