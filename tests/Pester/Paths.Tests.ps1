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

    It 'a UNC path (\\server\share) outside Windows is UncPathNotSupported for every command and form, naming the path, and nothing is read or written anywhere' -Skip:$IsWindows {
        # Found by the attack on modsave (session 10): the provider leaves \\server\share\x as it is on Linux, which is not a
        # full path, and the engine took it relative to the process current directory: Save-Checkpoint wrote a folder named
        # '\\server\share\x' there, Get-CheckpointStep, Lock-Checkpoint and Repair-CheckpointIndex read it. (New-Item takes
        # the same path for /server/share/x: neither is the network share the user meant.)
        # The readers' errors are non-terminating: under the test run's ErrorActionPreference Stop they would stop the call.
        $ErrorActionPreference = 'Continue'
        $processDir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'unc-process')
        $location = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'unc-location')
        $source = Join-Path $TestDrive 'unc-src'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $source -Step 1
        # A checkpoint where the old code looked (the process directory), to prove it is not read either.
        Copy-Item -LiteralPath $source -Destination ([IO.Path]::Combine($processDir.FullName, '\\dxck-no-server\share\unc-ck')) -Recurse
        $before = @(Get-ChildItem -LiteralPath $processDir.FullName -Recurse -Force).FullName
        $calls = @(
            @{ Name = 'Save -Path'; Stops = $true; Call = { param($p) @{ a = 2 } | Save-Checkpoint -Path $p -Step 2 } }
            @{ Name = 'Save -LiteralPath'; Stops = $true; Call = { param($p) @{ a = 2 } | Save-Checkpoint -LiteralPath $p -Step 2 } }
            @{ Name = 'Restore -Path'; Call = { param($p) Restore-Checkpoint -Path $p } }
            @{ Name = 'Restore -LiteralPath'; Call = { param($p) Restore-Checkpoint -LiteralPath $p } }
            @{ Name = 'Restore -LiteralPath -Into'; Call = { param($p) Restore-Checkpoint -LiteralPath $p -Into @{ a = 0 } } }
            @{ Name = 'Get-Checkpoint -Path'; Call = { param($p) Get-Checkpoint -Path $p } }
            @{ Name = 'Get-Checkpoint -LiteralPath'; Call = { param($p) Get-Checkpoint -LiteralPath $p } }
            @{ Name = 'Get-CheckpointStep -Path'; Call = { param($p) Get-CheckpointStep -Path $p } }
            @{ Name = 'Get-CheckpointStep -LiteralPath'; Call = { param($p) Get-CheckpointStep -LiteralPath $p } }
            @{ Name = 'Remove -Path -Keep'; Call = { param($p) Remove-Checkpoint -Path $p -Keep 1 -Confirm:$false } }
            @{ Name = 'Remove -LiteralPath -Step'; Call = { param($p) Remove-Checkpoint -LiteralPath $p -Step 1 -Confirm:$false } }
            @{ Name = 'Lock -Path'; Call = { param($p) Lock-Checkpoint -Path $p -Step 1 } }
            @{ Name = 'Repair -LiteralPath'; Call = { param($p) Repair-CheckpointIndex -LiteralPath $p } }
        )
        $saved = [Environment]::CurrentDirectory
        Push-Location -LiteralPath $location.FullName
        try {
            [Environment]::CurrentDirectory = $processDir.FullName
            foreach ($unc in '\\dxck-no-server\share\unc-ck', 'FileSystem::\\dxck-no-server\share\unc-ck', '\\dxck-no-server\share\unc-*') {
                foreach ($case in $calls) {
                    if ($unc -like '*`**' -and $case.Name -like '*LiteralPath*') { continue }
                    $because = "$($case.Name) $unc"
                    $caught = $null
                    $all = @()
                    try { $all = @(& $case.Call $unc 2>&1) } catch { $caught = $_ }
                    $errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
                    @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] }).Count | Should -Be 0 -Because $because
                    if ($case.Stops) {
                        $caught | Should -Not -BeNullOrEmpty -Because "$because stops: there is nothing else to save to"
                        $record = $caught
                    }
                    else {
                        $caught | Should -BeNullOrEmpty -Because $because
                        $errors.Count | Should -Be 1 -Because $because
                        $record = $errors[0]
                    }
                    $record.FullyQualifiedErrorId | Should -BeLike 'UncPathNotSupported,DataraxCkpt.Commands.*' -Because $because
                    $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
                    $record.TargetObject | Should -Be $unc -Because $because
                    $record.Exception.Message | Should -BeLike "*'$([WildcardPattern]::Escape($unc))'*mount*" -Because "$because names the path and what to do"
                }
            }
        }
        finally {
            [Environment]::CurrentDirectory = $saved
            Pop-Location
        }
        @(Get-ChildItem -LiteralPath $processDir.FullName -Recurse -Force).FullName | Should -Be $before -Because 'nothing is written in the process directory'
        @(Get-ChildItem -LiteralPath $location.FullName -Recurse -Force).Count | Should -Be 0 -Because 'nor in the location'
        Test-Path -LiteralPath '/dxck-no-server' | Should -BeFalse -Because 'nor where New-Item would take it (/server/share)'
        (Get-Checkpoint -LiteralPath ([IO.Path]::Combine($processDir.FullName, '\\dxck-no-server\share\unc-ck'))).Pinned | Should -BeFalse -Because 'Lock-Checkpoint did not pin the step there'
    }

    It 'a UNC path written with forward slashes (//server/share) outside Windows is UncPathNotSupported too, and nothing is written on the local disk' -Skip:$IsWindows {
        # Found by the attack on paths: \\server\share was refused, but //server/share (the same share on Windows, the same
        # path to the provider on Linux) went to the engine as /server/share and Save-Checkpoint created it on the local disk.
        $unc = '//dxck-no-server/share/fwd-ck'
        $caught = $null
        try { @{ a = 1 } | Save-Checkpoint -Path $unc -Step 1 } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeExactly 'UncPathNotSupported,DataraxCkpt.Commands.SaveCheckpointCommand'
        $caught.TargetObject | Should -Be $unc
        $caught = $null
        try { @{ a = 1 } | Save-Checkpoint -LiteralPath $unc -Step 1 } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeExactly 'UncPathNotSupported,DataraxCkpt.Commands.SaveCheckpointCommand'
        foreach ($path in $unc, '//dxck-no-server/share/fwd-*', 'FileSystem:://dxck-no-server/share/fwd-ck') {
            $errors = $null
            Get-CheckpointStep -Path $path -ErrorVariable errors -ErrorAction SilentlyContinue
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'UncPathNotSupported,DataraxCkpt.Commands.GetCheckpointStepCommand' -Because $path
        }
        Test-Path -LiteralPath '/dxck-no-server' | Should -BeFalse -Because 'nothing is created on the local disk'
        # Three or more leading slashes are one on every system: a local path, saved as before.
        $local = '//' + (Join-Path $TestDrive 'three-slashes')
        @{ a = 1 } | Save-Checkpoint -Path $local -Step 5
        Get-CheckpointStep -LiteralPath (Join-Path $TestDrive 'three-slashes') | Should -Be @(5)
        # Tab completion does not read the local folder either (//tmp/... is /tmp/... to .NET on Linux).
        $line = "Restore-Checkpoint -LiteralPath '/$(Join-Path $TestDrive 'three-slashes')' -Step "
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Not -Contain '5'
        $line = "Restore-Checkpoint -LiteralPath '$(Join-Path $TestDrive 'three-slashes')' -Step "
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain '5'
    }

    It 'tab completion of -Step on a UNC path outside Windows offers nothing from the process directory' -Skip:$IsWindows {
        $processDir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'unc-complete-process')
        $unc = '\\dxck-no-server\share\complete-ck'
        @{ a = 1 } | Save-Checkpoint -LiteralPath ([IO.Path]::Combine($processDir.FullName, $unc)) -Step 7
        $saved = [Environment]::CurrentDirectory
        try {
            [Environment]::CurrentDirectory = $processDir.FullName
            $line = "Restore-Checkpoint -LiteralPath '$unc' -Step "
            $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        }
        finally { [Environment]::CurrentDirectory = $saved }
        $completion.CompletionMatches.CompletionText | Should -Not -Contain '7'
    }

    It 'a relative path after Set-Location into a New-PSDrive drive resolves against that location for every command, never the process directory' {
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'psdrive-root')
        $processDir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'psdrive-process')
        New-PSDrive -Name DxCkRel -PSProvider FileSystem -Root $root.FullName | Out-Null
        $saved = [Environment]::CurrentDirectory
        Push-Location DxCkRel:\
        try {
            [Environment]::CurrentDirectory = $processDir.FullName
            @{ a = 1 } | Save-Checkpoint ./run -Step 1
            @{ a = 2 } | Save-Checkpoint -LiteralPath 'run[2]' -Step 1
            (Restore-Checkpoint ./run).a | Should -Be 1
            (Restore-Checkpoint -LiteralPath 'run[2]').a | Should -Be 2
            (Get-Checkpoint run).Directory | Should -Be (Join-Path $root.FullName 'run')
            Get-CheckpointStep -Path 'ru*' | Should -Be @(1, 1)
            Lock-Checkpoint -LiteralPath 'run[2]' -Step 1
            (Get-Checkpoint -LiteralPath 'run[2]').Pinned | Should -BeTrue
            Remove-Checkpoint -LiteralPath 'run[2]' -Step 1 -Force -Confirm:$false
            Get-CheckpointStep -LiteralPath 'run[2]' | Should -BeNullOrEmpty
        }
        finally {
            [Environment]::CurrentDirectory = $saved
            Pop-Location
            Remove-PSDrive DxCkRel
        }
        @(Get-ChildItem -LiteralPath $processDir.FullName -Force).Count | Should -Be 0
        Join-Path $root.FullName 'run/1' | Should -Exist
    }

    It 'a missing directory is DirectoryNotFound naming it for every reader, one directory or several, and nothing is created' {
        # The existence check is the engine's for every command (no provider call): the same error id, category and target.
        $good = Join-Path $TestDrive 'exists-good'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $good -Step 1
        $missing = Join-Path $TestDrive 'exists-missing'
        $readers = @(
            @{ Command = 'Restore-Checkpoint'; Extra = @{} }
            @{ Command = 'Get-Checkpoint'; Extra = @{} }
            @{ Command = 'Get-CheckpointItem'; Extra = @{} }
            @{ Command = 'Test-Checkpoint'; Extra = @{} }
            @{ Command = 'Compare-Checkpoint'; Extra = @{ ReferenceStep = 1 } }
            @{ Command = 'Remove-Checkpoint'; Extra = @{ Keep = 1 } }
        )
        foreach ($reader in $readers) {
            $extra = $reader.Extra
            foreach ($paths in @((, $missing), @($good, $missing))) {
                $errors = $null
                $null = & $reader.Command -LiteralPath $paths @extra -ErrorVariable errors -ErrorAction SilentlyContinue
                $because = "$($reader.Command) on $($paths.Count) directories"
                @($errors).Count | Should -Be 1 -Because $because
                $errors[0].FullyQualifiedErrorId | Should -BeExactly "DirectoryNotFound,DataraxCkpt.Commands.$($reader.Command -replace '-', '')Command" -Because $because
                $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
                $errors[0].TargetObject | Should -Be $missing -Because $because
                $errors[0].Exception.Message | Should -BeLike "*'$missing'*"
            }
        }
        Test-Path -LiteralPath $missing | Should -BeFalse
    }

    It 'Save-Checkpoint to a path of another provider stops with NotAFileSystemPath, nothing saved' {
        $caught = $null
        try { @{ a = 1 } | Save-Checkpoint -Path 'Variable:dxckSaveTarget' -Step 1 } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeExactly 'NotAFileSystemPath,DataraxCkpt.Commands.SaveCheckpointCommand'
        $caught.Exception.Message | Should -BeLike "*'Variable:dxckSaveTarget'*Variable*file system*"
        Test-Path Variable:dxckSaveTarget | Should -BeFalse
    }

    It 'a provider-qualified relative path (FileSystem::run) is InvalidPath naming it, not a UNC error, and nothing is written anywhere' {
        # Found by the attack on paths: the provider leaves FileSystem::run as 'run' (not relative to the location), and the
        # branch refused it as UncPathNotSupported, telling the user to mount a network share it never named.
        $processDir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'fsq-process')
        $location = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'fsq-location')
        $saved = [Environment]::CurrentDirectory
        Push-Location -LiteralPath $location.FullName
        try {
            [Environment]::CurrentDirectory = $processDir.FullName
            $caught = $null
            try { @{ a = 1 } | Save-Checkpoint -Path 'FileSystem::fsq-run' -Step 1 } catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.SaveCheckpointCommand'
            $caught.TargetObject | Should -Be 'FileSystem::fsq-run'
            $caught.Exception.Message | Should -BeLike "*'FileSystem::fsq-run'*full path*"
            $caught.Exception.Message | Should -Not -BeLike '*UNC*'
            $errors = $null
            Get-CheckpointStep -LiteralPath 'FileSystem::fsq-run' -ErrorVariable errors -ErrorAction SilentlyContinue
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.GetCheckpointStepCommand'
        }
        finally {
            [Environment]::CurrentDirectory = $saved
            Pop-Location
        }
        @(Get-ChildItem -LiteralPath $processDir.FullName -Force).Count | Should -Be 0
        @(Get-ChildItem -LiteralPath $location.FullName -Force).Count | Should -Be 0
    }

    It 'a wildcard path that cannot be matched (unknown drive, provider-qualified relative) is a non-terminating InvalidPath for readers, as without a wildcard: the other paths are still read' {
        # Found by the attack on paths: Get-Checkpoint good, 'nosuchdrive:/ck*' stopped the whole command with DriveNotFound
        # (and FileSystem::ck* with a bare ArgumentException), where 'nosuchdrive:/ck' is one InvalidPath error.
        $good = Join-Path $TestDrive 'wild-invalid-good'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $good -Step 3
        foreach ($bad in 'dxckNoSuchDrive:/ck*', 'FileSystem::ck*') {
            $errors = $null
            $caught = $null
            $steps = $null
            try { $steps = Get-CheckpointStep -Path $good, $bad -ErrorVariable errors -ErrorAction SilentlyContinue } catch { $caught = $_ }
            $caught | Should -BeNullOrEmpty -Because $bad
            $steps | Should -Be @(3) -Because $bad
            @($errors).Count | Should -Be 1 -Because $bad
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.GetCheckpointStepCommand' -Because $bad
            $errors[0].TargetObject | Should -Be $bad
        }
    }

    It 'a -Path escaped with backticks names the folder it escapes: piped records of run[1] reach run[1] for every command, and Save-Checkpoint -Path ''run`[1`]'' saves there' {
        # Found by the attack on paths: a piped record binds -Path as WildcardPattern.Escape(Directory) ('run`[1`]'), and a
        # -Path with no unescaped wildcard was taken as a name with its backticks: Get-Checkpoint -LiteralPath 'run[1]' |
        # Restore-Checkpoint (also Lock-, Compare-, Copy-Checkpoint) was DirectoryNotFound for 'run`[1`]'.
        $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'escaped')
        Push-Location -LiteralPath $work.FullName
        try {
            @{ a = 'brackets' } | Save-Checkpoint -LiteralPath 'run[1]' -Step 1
            @{ a = 'plain' } | Save-Checkpoint -LiteralPath 'run1' -Step 1
            @{ a = 'tick' } | Save-Checkpoint -LiteralPath 'r`un' -Step 1
            (Get-Checkpoint -LiteralPath 'run[1]' | Restore-Checkpoint).a | Should -Be 'brackets'
            (Get-Checkpoint -LiteralPath 'r`un' | Restore-Checkpoint).a | Should -Be 'tick'
            $errors = $null
            $null = Get-Checkpoint -LiteralPath 'run[1]' | Compare-Checkpoint -ReferenceStep 1 -ErrorVariable errors -ErrorAction SilentlyContinue
            @($errors).Count | Should -Be 0 -Because 'Compare-Checkpoint reads the piped run[1]'
            Get-Checkpoint -LiteralPath 'run[1]' | Lock-Checkpoint
            (Get-Checkpoint -LiteralPath 'run[1]').Pinned | Should -BeTrue
            (Get-Checkpoint -LiteralPath 'run1').Pinned | Should -BeFalse
            (Restore-Checkpoint -Path 'run`[1`]').a | Should -Be 'brackets'
            @{ a = 'second' } | Save-Checkpoint -Path 'run`[1`]' -Step 2
            Get-CheckpointStep -LiteralPath 'run[1]' | Should -Be @(1, 2)
            Test-Path -LiteralPath 'run`[1`]' | Should -BeFalse -Because 'the backticks escape, they are not part of the name'
            $line = "Restore-Checkpoint -Path 'run``[1``]' -Step "
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain '2' -Because 'completion reads run[1] as the command does'
        }
        finally { Pop-Location }
    }

    It 'CheckpointInfo.Directory is the checkpoint directory and Path the step folder' {
        $dir = Join-Path $TestDrive 'info'
        $info = @{ a = 1 } | Save-Checkpoint $dir -Step 3 -PassThru
        $info.Directory | Should -Be $dir
        $info.Path | Should -Be (Join-Path $dir '3')
    }
}
