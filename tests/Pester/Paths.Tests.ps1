# Paths resolve through the PowerShell provider: relative to $PWD (not the process folder), ~, drives.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Path resolution' {
    It 'a relative path is relative to $PWD, not to the process current directory' {
        $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'pwd')
        $processDir = [Environment]::CurrentDirectory
        Push-Location -LiteralPath $work.FullName
        try {
            [Environment]::CurrentDirectory | Should -Not -Be $work.FullName
            @{ a = 1 } | Save-Checkpoint ./rel -Step 1
        }
        finally { Pop-Location }
        Join-Path $work.FullName 'rel/1' | Should -Exist
        Join-Path $processDir 'rel' | Should -Not -Exist
    }

    It 'a path on a PowerShell drive resolves to its file-system path' {
        New-PSDrive -Name DxCk -PSProvider FileSystem -Root $TestDrive | Out-Null
        try {
            @{ a = 1 } | Save-Checkpoint DxCk:/drive -Step 2
            Get-CheckpointStep (Join-Path $TestDrive 'drive') | Should -Be @(2)
            (Get-Checkpoint DxCk:/drive).Directory | Should -Be (Join-Path $TestDrive 'drive')
        }
        finally { Remove-PSDrive DxCk }
    }

    It '~ is the home folder' {
        $homeDir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'home')
        $result = Invoke-FreshPwsh -Environment @{ HOME = $homeDir.FullName } -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
@{ a = 1 } | Save-Checkpoint ~/ck -Step 4
(Get-CheckpointStep ~/ck) -join ','
"@
        $result.Output | Should -Contain '4'
        Join-Path $homeDir.FullName 'ck/4' | Should -Exist
    }

    It '-Path expands wildcards and -LiteralPath does not' {
        $a = Join-Path $TestDrive 'wild-a'
        $b = Join-Path $TestDrive 'wild-b'
        @{ a = 1 } | Save-Checkpoint $a -Step 1
        @{ a = 1 } | Save-Checkpoint $b -Step 2
        (Get-Checkpoint (Join-Path $TestDrive 'wild-*')).Step | Sort-Object | Should -Be @(1, 2)
        $errors = $null
        Restore-Checkpoint -LiteralPath (Join-Path $TestDrive 'wild-*') -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'DirectoryNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
    }

    It 'Save-Checkpoint -Path saves to a plain path whether or not it exists, into the one directory a wildcard matches, and refuses a wildcard matching two' {
        # A path without wildcard characters is resolved without asking the provider (round 28); a wildcard still is.
        $plain = Join-Path $TestDrive 'save-plain'
        @{ a = 1 } | Save-Checkpoint $plain -Step 1
        @{ a = 2 } | Save-Checkpoint $plain -Step 2
        (Get-CheckpointStep -LiteralPath $plain) | Should -Be @(1, 2)
        $one = Join-Path $TestDrive 'save-one-x'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $one -Step 1
        @{ a = 3 } | Save-Checkpoint (Join-Path $TestDrive 'save-one-*') -Step 2
        (Get-CheckpointStep -LiteralPath $one) | Should -Be @(1, 2)
        Test-Path -LiteralPath (Join-Path $TestDrive 'save-one-*') | Should -BeFalse -Because 'a matching wildcard is not taken as a name'
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $TestDrive 'save-two-a') -Step 1
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $TestDrive 'save-two-b') -Step 1
        { @{ a = 1 } | Save-Checkpoint (Join-Path $TestDrive 'save-two-*') -Step 2 } | Should -Throw -ErrorId 'AmbiguousPath,DataraxCkpt.Commands.SaveCheckpointCommand'
        Get-CheckpointStep -LiteralPath (Join-Path $TestDrive 'save-two-a') | Should -Be 1
    }

    It 'a UNC-like path (\\server\share) is never read from the process current directory' {
        # Found by the attack on modsave: the provider leaves \\server\share\x as it is, which on Linux is not a full
        # path, and the engine took it relative to the process current directory. With no provider check left in
        # Restore-Checkpoint, a checkpoint in <process dir>/'\\server\share\x' was restored (and the message named it).
        $processDir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'unc-process')
        $location = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'unc-location')
        $unc = '\\dxck-no-server\share\unc-ck'
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $TestDrive 'unc-src') -Step 1
        if (-not $IsWindows) {
            # A folder whose name holds the backslashes, as the engine would have named it in the process directory.
            [IO.Directory]::Move((Join-Path $TestDrive 'unc-src'), [IO.Path]::Combine($processDir.FullName, $unc))
        }
        $saved = [Environment]::CurrentDirectory
        Push-Location -LiteralPath $location.FullName
        try {
            [Environment]::CurrentDirectory = $processDir.FullName
            $errors = $null
            $out = @(Restore-Checkpoint -LiteralPath $unc -ErrorVariable errors -ErrorAction SilentlyContinue)
        }
        finally {
            [Environment]::CurrentDirectory = $saved
            Pop-Location
        }
        $out.Count | Should -Be 0
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'DirectoryNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $errors[0].TargetObject | Should -Be $unc
        $errors[0].Exception.Message | Should -Not -BeLike "*$($processDir.FullName)*"
    }

    It 'CheckpointInfo.Directory is the checkpoint directory and Path the step folder' {
        $dir = Join-Path $TestDrive 'info'
        $info = @{ a = 1 } | Save-Checkpoint $dir -Step 3 -PassThru
        $info.Directory | Should -Be $dir
        $info.Path | Should -Be (Join-Path $dir '3')
    }
}
