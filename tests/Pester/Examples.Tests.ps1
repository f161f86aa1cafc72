# Every example runs to completion in a fresh pwsh against the built module.

BeforeDiscovery {
    $examples = Get-ChildItem -LiteralPath (Join-Path $PSScriptRoot '../../examples') -Filter '*.ps1' |
        ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

Describe 'Examples' {
    It '<Name> runs without error' -ForEach $examples {
        $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        $result = Invoke-FreshPwsh -WorkingDirectory $work.FullName -Script "& '$Path' -ModuleRoot '$ModuleRoot'; exit `$LASTEXITCODE"
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
    }

    It 'quickstart restores what it saved and prints the guide flow' {
        $result = Invoke-FreshPwsh -Script "& '$(Join-Path $RepoRoot 'examples/quickstart.ps1')' -ModuleRoot '$ModuleRoot'"
        $text = $result.Output -join "`n"
        $text | Should -Match 'Restored position 42, epoch 5, weights 10x10'
        $text | Should -Match 'Checkpoints: 50, 60, 70, 80, 90'
        $text | Should -Match 'Step 1 after overwrite: v = 2'
        $text | Should -Match 'As expected: StepNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
    }
}
