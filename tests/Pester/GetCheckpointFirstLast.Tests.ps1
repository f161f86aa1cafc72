# Issue 17, big indexes: Get-Checkpoint -First N / -Last N read only N rows of the index (one query each),
# ascending like a full listing; their argument errors carry stable ids.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    $script:ck = Join-Path $TestDrive 'ck'
    foreach ($step in 4200, 10, 200, 20, 100, 50) {
        @{ s = $step } | Save-Checkpoint -LiteralPath $ck -Step $step -Metadata @{ description = "step $step" }
    }

    function Get-ErrorOf([scriptblock] $Command) {
        try { & $Command; $null } catch { $_ }
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Get-Checkpoint -First and -Last' {
    It '-Last N emits the N highest steps, ascending' {
        (Get-Checkpoint -LiteralPath $ck -Last 2).Step | Should -Be @(200, 4200)
    }

    It '-First N emits the N lowest steps, ascending' {
        (Get-Checkpoint -LiteralPath $ck -First 3).Step | Should -Be @(10, 20, 50)
    }

    It '-Last 1 is the latest step, with the same record as a full listing' {
        $latest = Get-Checkpoint -LiteralPath $ck -Last 1
        @($latest).Count | Should -Be 1
        $latest.Step | Should -Be (Get-CheckpointStep -LiteralPath $ck -Latest)
        $full = Get-Checkpoint -LiteralPath $ck | Select-Object -Last 1
        $latest.Path | Should -Be $full.Path
        $latest.CreatedUtc | Should -Be $full.CreatedUtc
        $latest.StoredSize | Should -Be $full.StoredSize
        $latest.Metadata['description'] | Should -Be 'step 4200'
    }

    It 'a count beyond the steps emits every step' {
        (Get-Checkpoint -LiteralPath $ck -Last 100).Step | Should -Be @(10, 20, 50, 100, 200, 4200)
        (Get-Checkpoint -LiteralPath $ck -First 100).Step | Should -Be @(10, 20, 50, 100, 200, 4200)
    }

    It 'an existing directory without steps emits nothing and no error' {
        $empty = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'empty')
        $errors = $null
        Get-Checkpoint -LiteralPath $empty.FullName -Last 3 -ErrorVariable errors | Should -BeNullOrEmpty
        $errors | Should -BeNullOrEmpty
    }

    It 'a missing directory is a DirectoryNotFound error, as without -Last' {
        $errors = $null
        Get-Checkpoint -LiteralPath (Join-Path $TestDrive 'missing') -Last 1 -ErrorAction SilentlyContinue -ErrorVariable errors | Should -BeNullOrEmpty
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'DirectoryNotFound,DataraxCkpt.Commands.GetCheckpointCommand'
    }

    It 'each directory of a wildcard gets its own -Last' {
        foreach ($run in 'a', 'b') { foreach ($step in 1..4) { @{ s = $step } | Save-Checkpoint -LiteralPath (Join-Path $TestDrive "runs/$run") -Step $step } }
        $latest = Get-Checkpoint -Path (Join-Path $TestDrive 'runs/*') -Last 1
        $latest.Step | Should -Be @(4, 4)
        ($latest.Directory | ForEach-Object { Split-Path -Leaf $_ }) | Should -Be @('a', 'b')
    }

    It '-Last 1 in a fresh pwsh prints the latest step' {
        $result = Invoke-FreshPwsh -Script "Import-Module '$ModuleManifest'; (Get-Checkpoint -LiteralPath '$ck' -Last 1).Step"
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Be @('4200')
    }
}

Describe 'Get-Checkpoint -First and -Last argument errors' {
    It '-<Name> <Count> is refused as InvalidStepCount, naming the parameter' -ForEach @(
        @{ Name = 'Last'; Count = 0 }, @{ Name = 'First'; Count = 0 }, @{ Name = 'Last'; Count = -1 }
    ) {
        $arguments = @{ LiteralPath = $ck; $Name = $Count }
        $e = Get-ErrorOf { Get-Checkpoint @arguments }
        $e.FullyQualifiedErrorId | Should -BeExactly 'InvalidStepCount,DataraxCkpt.Commands.GetCheckpointCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.ParamName | Should -Be $Name
        $e.Exception.Message | Should -BeLike "*-$Name must be 1 or more*"
    }

    It '-Last with -Step is refused as StepWithFirstOrLast' {
        $e = Get-ErrorOf { Get-Checkpoint -LiteralPath $ck -Step 10 -Last 1 }
        $e.FullyQualifiedErrorId | Should -BeExactly 'StepWithFirstOrLast,DataraxCkpt.Commands.GetCheckpointCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $e.Exception.ParamName | Should -Be 'Step'
    }

    It 'piped records with -First are refused as StepWithFirstOrLast, emitting nothing' {
        $out = @()
        $e = Get-ErrorOf { Get-Checkpoint -LiteralPath $ck | Get-Checkpoint -First 1 | ForEach-Object { $out += $_ } }
        $e.FullyQualifiedErrorId | Should -BeExactly 'StepWithFirstOrLast,DataraxCkpt.Commands.GetCheckpointCommand'
        $out | Should -BeNullOrEmpty
    }

    It '-First with -Last is refused as FirstWithLast' {
        $e = Get-ErrorOf { Get-Checkpoint -LiteralPath $ck -First 1 -Last 1 }
        $e.FullyQualifiedErrorId | Should -BeExactly 'FirstWithLast,DataraxCkpt.Commands.GetCheckpointCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }
}
