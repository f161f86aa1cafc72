# Commands that work through several steps show "step i of n" above the byte progress (issue 11, item 5).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Test-Checkpoint progress over several steps' {
    It 'shows "step i of n" and completes the bar' {
        $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        foreach ($step in 1..4) { @{ s = $step } | Save-Checkpoint -LiteralPath $dir -Step $step }
        $run = Invoke-WithProgress { param($d) Test-Checkpoint -LiteralPath $d } @($dir)
        $run.Output.Count | Should -Be 4
        $steps = @($run.Progress | Where-Object Activity -like 'Test checkpoint: step*')
        $steps[0].Activity | Should -Be 'Test checkpoint: step 1 of 4'
        $steps.Activity | Should -Contain 'Test checkpoint: step 4 of 4'
        $steps[-1].RecordType | Should -Be 'Completed'
    }
}

Describe 'Remove-Checkpoint progress over several steps' {
    It 'shows "step i of n" while retention removes steps, and completes the bar' {
        $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        foreach ($step in 1..5) { @{ s = $step } | Save-Checkpoint -LiteralPath $dir -Step $step }
        $run = Invoke-WithProgress { param($d) Remove-Checkpoint -LiteralPath $d -Keep 2 } @($dir)
        Get-CheckpointStep -LiteralPath $dir | Should -Be @(4, 5)
        $steps = @($run.Progress | Where-Object Activity -like 'Remove checkpoint: step*')
        $steps[0].Activity | Should -Be 'Remove checkpoint: step 1 of 3'
        $steps.Activity | Should -Contain 'Remove checkpoint: step 3 of 3'
        $steps[-1].RecordType | Should -Be 'Completed'
    }
}
