# Shared references through the module: one array under two names is stored once and restored as one array.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Shared references' {
    It 'one float[] under two keys restores as one array referenced twice' {
        $dir = Join-Path $TestDrive 'tied'
        $a = [float[]]::new(4)
        $a[2] = 1.5
        Save-Checkpoint -LiteralPath $dir -InputObject @{ x = $a; y = $a } -Step 0 -ErrorAction Stop

        $r = Restore-Checkpoint -LiteralPath $dir -ErrorAction Stop

        [object]::ReferenceEquals($r.x, $r.y) | Should -BeTrue
        $r.x.GetType() | Should -Be ([float[]])
        $r.x[2] | Should -Be 1.5
        (Get-CheckpointItem -LiteralPath $dir -Step 0).Name | Sort-Object | Should -Be @('x', 'y')
    }

    It 'two equal arrays stay two arrays' {
        $dir = Join-Path $TestDrive 'distinct'
        Save-Checkpoint -LiteralPath $dir -InputObject @{ x = [int[]](1, 2); y = [int[]](1, 2) } -Step 0 -ErrorAction Stop

        $r = Restore-Checkpoint -LiteralPath $dir -ErrorAction Stop

        [object]::ReferenceEquals($r.x, $r.y) | Should -BeFalse
        $r.y | Should -Be @(1, 2)
    }
}
