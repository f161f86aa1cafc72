# Save-Checkpoint -Keep whose retention fails after the step is committed: a warning, not an error,
# and the committed record is still output (issue 9, item 8).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Save-Checkpoint when retention fails after the commit' {
    BeforeEach {
        $script:dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        @{ v = 1 } | Save-Checkpoint $dir -Step 1
        @{ v = 2 } | Save-Checkpoint $dir -Step 2
        # Removed folders go to .trash; a plain file in its place makes every removal fail with an I/O error.
        Set-Content -LiteralPath (Join-Path $dir '.trash') -Value 'in the way'
    }

    It 'writes a warning, no error, and -PassThru still outputs the committed record' {
        $saved = @{ v = 3 } | Save-Checkpoint $dir -Step 3 -Keep 1 -PassThru -ErrorAction Stop -WarningVariable warnings -WarningAction SilentlyContinue
        $saved.Step | Should -Be 3
        $saved.Directory | Should -Be $dir
        @($warnings).Count | Should -Be 1
        "$($warnings[0])" | Should -Match '^Step 3 was saved and committed in .+ but retention \(keep 1\) failed afterwards'
        Get-CheckpointStep $dir | Should -Contain 3
        (Restore-Checkpoint $dir -Step 3).v | Should -Be 3
    }

    It 'without -PassThru outputs nothing and sets no error' {
        $out = @{ v = 3 } | Save-Checkpoint $dir -Step 3 -Keep 1 -ErrorVariable errors -WarningVariable warnings -WarningAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errors | Should -BeNullOrEmpty
        @($warnings).Count | Should -Be 1
    }
}
