# Paths resolve through the PowerShell provider: relative to $PWD (not the process folder), ~, drives.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    # Runs $Body with the session's location at $SessionLocation and the process's current directory (against which the
    # engine, and the provider for FileSystem::relative, would take a relative path) at $ProcessDirectory; both are put
    # back after. $Body is dot-sourced, so it sees the test's variables: the parameter names differ from theirs.
    function script:Invoke-InLocationAndProcessDirectory([string] $SessionLocation, [string] $ProcessDirectory, [scriptblock] $Body) {
        $savedProcessDirectory = [Environment]::CurrentDirectory
        Push-Location -LiteralPath $SessionLocation
        try {
            [Environment]::CurrentDirectory = $ProcessDirectory
            . $Body
        }
        finally {
            [Environment]::CurrentDirectory = $savedProcessDirectory
            Pop-Location
        }
    }
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
        Invoke-InLocationAndProcessDirectory $location.FullName $processDir.FullName {
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

    It 'a rooted path resolves to what the provider answers for it as typed, whether the provider gives it back unchanged (names with spaces, dots, quotes, tabs, non-ASCII) or rewrites it (//, /./, /../, \, a trailing /)' -Skip:$IsWindows {
        # Rooted paths the provider gives back unchanged are asked in the provider-qualified form (round 62 of
        # docs/performance-notes.md); every answer must stay the one the path as typed gets.
        $root = Join-Path $TestDrive 'rooted'
        $null = New-Item -ItemType Directory -Path (Join-Path $root 'x')
        $names = @('plain', 'a b', 'trail ', ' lead', '..dots', '...', 'end.', '.hidden', 'ünï', 'a%20b', '$v', "q'uote", 'a,b;c=d&e', 'a~b', "t`tab", '{a}(b)',
            'x//double', 'x/./here', 'x/../up', 'x\back', 'x/trailing/', 'x/.', 'x/..')
        $step = 0
        foreach ($name in $names) {
            $path = "$root/$name"
            $expected = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path)
            $info = Save-Checkpoint -LiteralPath $path -InputObject @{ a = 1 } -Step $step -PassThru
            $info.Directory | Should -BeExactly $expected -Because "Save-Checkpoint -LiteralPath '$path'"
            (Get-CheckpointStep -LiteralPath $path) | Should -Contain $step -Because "Get-CheckpointStep -LiteralPath '$path' reads where the save wrote"
            $step++
        }
    }

    It 'A_rooted_path_in_a_host_whose_FileSystem_name_is_another_provider_resolves_as_typed: the provider named FileSystem is not asked in place of the one the path reaches' -Skip:$IsWindows {
        # Found by the attack on configs22: the rooted path was asked as FileSystem::<path> of whatever provider a host
        # registered under that name (here the Environment provider; the file system is registered as RealFS), so
        # Save-Checkpoint wrote where main refused the path as a RealFS path (NotAFileSystemPath), and
        # Get-CheckpointStep read it. The answer must stay the one the path as typed gets.
        $dir = Join-Path $TestDrive 'host-named'
        $iss = [initialsessionstate]::CreateDefault2()
        $fileSystem = $iss.Providers['FileSystem'][0]
        $iss.Providers.Remove('FileSystem', $null)
        $iss.Providers.Add([System.Management.Automation.Runspaces.SessionStateProviderEntry]::new('RealFS', $fileSystem.ImplementingType, $fileSystem.HelpFileName))
        $iss.Providers.Add([System.Management.Automation.Runspaces.SessionStateProviderEntry]::new('FileSystem', [Microsoft.PowerShell.Commands.EnvironmentProvider], $null))
        $rs = [runspacefactory]::CreateRunspace($iss)
        $rs.Open()
        try {
            $ps = [powershell]::Create()
            $ps.Runspace = $rs
            $null = $ps.AddScript({
                    param($manifest, $path)
                    Import-Module $manifest
                    $typed = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path, [ref] $null, [ref] $null)
                    $provider = $null
                    $null = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path, [ref] $provider, [ref] $null)
                    $saved = try { Save-Checkpoint -LiteralPath $path -InputObject @{ a = 1 } -Step 1 -PassThru; 'saved' } catch { $_.FullyQualifiedErrorId }
                    $read = try { Get-CheckpointStep -Path $path -ErrorAction Stop } catch { $_.FullyQualifiedErrorId }
                    [pscustomobject]@{ Provider = $provider.Name; Saved = @($saved)[-1]; Read = @($read)[-1] }
                }).AddArgument($ModuleManifest).AddArgument($dir)
            $result = $ps.Invoke()[0]
            $result.Provider | Should -BeExactly 'RealFS' -Because 'the path as typed reaches the file system provider, registered here as RealFS'
            $result.Saved | Should -BeExactly 'NotAFileSystemPath,DataraxCkpt.Commands.SaveCheckpointCommand' -Because 'the path as typed is refused as a RealFS path (main, 67333bc)'
            $result.Read | Should -BeExactly 'NotAFileSystemPath,DataraxCkpt.Commands.GetCheckpointStepCommand'
            $dir | Should -Not -Exist -Because 'nothing is written through a provider the path does not reach'
            $ps.Dispose()
        }
        finally { $rs.Dispose() }
    }

    It 'CheckpointInfo.Directory is the checkpoint directory and Path the step folder' {
        $dir = Join-Path $TestDrive 'info'
        $info = @{ a = 1 } | Save-Checkpoint $dir -Step 3 -PassThru
        $info.Directory | Should -Be $dir
        $info.Path | Should -Be (Join-Path $dir '3')
    }

    It 'tab completion and the commands resolve the same inputs alike: backticks, wildcards, UNC in both slash forms, remote locations, relative and FileSystem::-qualified paths, NUL' {
        # One resolver serves both (CheckpointPathResolver). Before it, completion took a -Path holding wildcards as a name
        # (run[1] completed the steps of the folder run[1], which the command, matching run1, never reads; pla* completed nothing).
        # Each row: the steps the command reads (Get-Checkpoint) and completion offers (-Step) must both be Steps.
        $ErrorActionPreference = 'Continue'
        $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'agree')
        $processDir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'agree-process')
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $work.FullName 'run[1]') -Step 2
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $work.FullName 'plain') -Step 3
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $work.FullName 'r`un') -Step 4
        # Where a wrong resolution would look: the process directory.
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $processDir.FullName 'plain') -Step 9
        $rows = @(
            @{ P = 'LiteralPath'; In = 'run[1]'; Steps = @(2) }
            @{ P = 'Path'; In = 'run`[1`]'; Steps = @(2) }
            @{ P = 'Path'; In = 'run[1]'; Steps = @() }
            @{ P = 'Path'; In = 'pla*'; Steps = @(3) }
            # The provider's globbing unescapes once before matching, as for Get-Item: r``u* is r`u* (matches run[1]), r````u* matches r`un.
            @{ P = 'Path'; In = 'r``u*'; Steps = @(2) }
            @{ P = 'Path'; In = 'r````u*'; Steps = @(4) }
            @{ P = 'Path'; In = 'r``un'; Steps = @(4) }
            @{ P = 'LiteralPath'; In = 'r`un'; Steps = @(4) }
            @{ P = 'Path'; In = './plain'; Steps = @(3) }
            @{ P = 'LiteralPath'; In = 'plain'; Steps = @(3) }
            @{ P = 'LiteralPath'; In = "FileSystem::$(Join-Path $work.FullName 'plain')"; Steps = @(3) }
            @{ P = 'Path'; In = 'FileSystem::plain'; Steps = @(); Id = 'InvalidPath' }
            @{ P = 'LiteralPath'; In = "pl$([char]0)ain"; Steps = @(); Id = 'InvalidPath' }
            @{ P = 'Path'; In = "pl$([char]0)ain"; Steps = @(); Id = 'InvalidPath' }
        )
        if (-not $IsWindows) {
            $rows += @(
                @{ P = 'LiteralPath'; In = '\\dxck-no-server\share\plain'; Steps = @(); Id = 'UncPathNotSupported' }
                @{ P = 'Path'; In = '//dxck-no-server/share/plain'; Steps = @(); Id = 'UncPathNotSupported' }
                @{ P = 'Path'; In = '//dxck-no-server/share/pla*'; Steps = @(); Id = 'UncPathNotSupported' }
                @{ P = 'Path'; In = '\\dxck-no-server\share\run`[1`]'; Steps = @(); Id = 'UncPathNotSupported' }
            )
        }
        $savedConnection = $env:AZURE_STORAGE_CONNECTION_STRING
        $savedAccount = $env:AZURE_STORAGE_ACCOUNT
        $env:AZURE_STORAGE_CONNECTION_STRING = $null
        $env:AZURE_STORAGE_ACCOUNT = $null
        $rows += @{ P = 'Path'; In = 'az://dxck-agree/plain*'; Steps = @(); Id = 'RemoteCredentialsMissing' }
        $saved = [Environment]::CurrentDirectory
        Push-Location -LiteralPath $work.FullName
        try {
            [Environment]::CurrentDirectory = $processDir.FullName
            foreach ($row in $rows) {
                $because = "-$($row.P) '$($row.In -replace "`0", '\0')'"
                $errors = @()
                $read = @()
                $caught = $null
                $parameters = @{ $row.P = $row.In }
                try { $read = @(Get-Checkpoint @parameters -ErrorVariable errors -ErrorAction SilentlyContinue) } catch { $caught = $_ }
                @($read.Step) | Should -Be $row.Steps -Because "the command reads $because"
                $quoted = "'" + ($row.In -replace "'", "''") + "'"
                $line = "Restore-Checkpoint -$($row.P) $quoted -Step "
                $offered = @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText)
                $offered | Should -Be @($row.Steps | ForEach-Object { "$_" }) -Because "completion agrees on $because"
                if ($row.Id) {
                    $record = if ($caught) { $caught } else { $errors[0] }
                    $record.FullyQualifiedErrorId | Should -BeExactly "$($row.Id),DataraxCkpt.Commands.GetCheckpointCommand" -Because $because
                }
                else {
                    $caught | Should -BeNullOrEmpty -Because $because
                    @($errors).Count | Should -Be 0 -Because $because
                }
            }
        }
        finally {
            [Environment]::CurrentDirectory = $saved
            Pop-Location
            $env:AZURE_STORAGE_CONNECTION_STRING = $savedConnection
            $env:AZURE_STORAGE_ACCOUNT = $savedAccount
        }
    }

    It 'a path holding a NUL character is InvalidPath naming the path (NUL shown as `0) for Save-Checkpoint (stops) and every reader (non-terminating: the other paths are still read)' {
        # Was the engine's bare "Null character in path. (Parameter 'path')", InvalidArgument, without the path.
        $bad = "ck$([char]0)x"
        $shown = 'ck`0x'
        $caught = $null
        try { @{ a = 1 } | Save-Checkpoint -Path $bad -Step 1 -ErrorAction SilentlyContinue } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.SaveCheckpointCommand'
        $caught.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $caught.Exception.Message | Should -BeLike "*'$([WildcardPattern]::Escape($shown))'*NUL*Remove*"
        $caught = $null
        try { @{ a = 1 } | Save-Checkpoint -LiteralPath $bad -Step 1 -ErrorAction SilentlyContinue } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.SaveCheckpointCommand'
        $good = Join-Path $TestDrive 'nul-good'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $good -Step 1
        $readers = @(
            @{ Command = 'Restore-Checkpoint'; Extra = @{} }
            @{ Command = 'Get-Checkpoint'; Extra = @{} }
            @{ Command = 'Get-CheckpointStep'; Extra = @{} }
            @{ Command = 'Get-CheckpointItem'; Extra = @{} }
            @{ Command = 'Test-Checkpoint'; Extra = @{} }
            @{ Command = 'Compare-Checkpoint'; Extra = @{ ReferenceStep = 1 } }
            @{ Command = 'Remove-Checkpoint'; Extra = @{ Keep = 1; Confirm = $false } }
            @{ Command = 'Lock-Checkpoint'; Extra = @{ Step = 1 } }
            @{ Command = 'Repair-CheckpointIndex'; Extra = @{} }
        )
        foreach ($reader in $readers) {
            foreach ($parameter in 'Path', 'LiteralPath') {
                $extra = $reader.Extra
                $errors = $null
                $caught = $null
                $because = "$($reader.Command) -$parameter"
                $arguments = @{ $parameter = @($bad, $good) }
                try { $null = & $reader.Command @arguments @extra -ErrorVariable errors -ErrorAction SilentlyContinue } catch { $caught = $_ }
                $caught | Should -BeNullOrEmpty -Because "$because goes on to the good path"
                @($errors).Count | Should -Be 1 -Because $because
                $errors[0].FullyQualifiedErrorId | Should -BeExactly "InvalidPath,DataraxCkpt.Commands.$($reader.Command -replace '-', '')Command" -Because $because
                $errors[0].Exception.Message | Should -BeLike "*'$([WildcardPattern]::Escape($shown))'*" -Because $because
                $errors[0].TargetObject | Should -Be $shown -Because $because
            }
        }
        Unlock-Checkpoint -LiteralPath $good -Step 1
    }

    It 'Copy-Checkpoint -Destination on a UNC path outside Windows (both slash forms) stops with one error, UncPathNotSupported, nothing copied' -Skip:$IsWindows {
        # Was two errors: UncPathNotSupported, then InvalidDestination for the same destination. Under ErrorActionPreference Stop
        # (the test run's) the first, non-terminating, stopped the command and hid the second; users see both with Continue.
        $ErrorActionPreference = 'Continue'
        $source = Join-Path $TestDrive 'copy-unc-src'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $source -Step 1
        foreach ($destination in '\\dxck-no-server\share\copy', '//dxck-no-server/share/copy') {
            $records = $null
            try { Copy-Checkpoint -LiteralPath $source -Destination $destination -ErrorVariable records } catch { $null = $_ }
            # -ErrorVariable holds a terminating error as the exception that carries it.
            $records = @($records | ForEach-Object { if ($_ -is [System.Management.Automation.ErrorRecord]) { $_ } else { $_.ErrorRecord } })
            $records.Count | Should -Be 1 -Because $destination
            $records[0].FullyQualifiedErrorId | Should -BeExactly 'UncPathNotSupported,DataraxCkpt.Commands.CopyCheckpointCommand' -Because $destination
            $records[0].TargetObject | Should -Be $destination
        }
        Test-Path -LiteralPath '/dxck-no-server' | Should -BeFalse
    }

    It 'a file where a checkpoint directory is expected is NotADirectory naming it, for every reader, non-terminating: Get-ChildItem | Get-Checkpoint still reads the directories after it' {
        # Was DirectoryNotFound, "does not exist", for a file that exists.
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'files-among')
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $root.FullName 'a-ck') -Step 1
        $file = Join-Path $root.FullName 'b-notes.txt'
        'notes' | Set-Content -LiteralPath $file
        @{ a = 1 } | Save-Checkpoint -LiteralPath (Join-Path $root.FullName 'c-ck') -Step 2
        $errors = $null
        $read = @(Get-ChildItem -LiteralPath $root.FullName | Get-Checkpoint -ErrorVariable errors -ErrorAction SilentlyContinue)
        $read.Step | Should -Be @(1, 2) -Because 'the directories before and after the file are read'
        @($errors).Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'NotADirectory,DataraxCkpt.Commands.GetCheckpointCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errors[0].TargetObject | Should -Be $file
        $errors[0].Exception.Message | Should -BeLike "*'$file'*file*not a checkpoint directory*"
        $good = Join-Path $root.FullName 'a-ck'
        $readers = @(
            @{ Command = 'Restore-Checkpoint'; Extra = @{} }
            @{ Command = 'Get-Checkpoint'; Extra = @{} }
            @{ Command = 'Get-CheckpointStep'; Extra = @{} }
            @{ Command = 'Get-CheckpointStep'; Extra = @{ Latest = $true } }
            @{ Command = 'Get-CheckpointItem'; Extra = @{} }
            @{ Command = 'Test-Checkpoint'; Extra = @{} }
            @{ Command = 'Compare-Checkpoint'; Extra = @{ ReferenceStep = 1 } }
            @{ Command = 'Remove-Checkpoint'; Extra = @{ Keep = 1; Confirm = $false } }
            @{ Command = 'Remove-Checkpoint'; Extra = @{ Step = 1; WhatIf = $true } }
            @{ Command = 'Lock-Checkpoint'; Extra = @{ Step = 1 } }
            @{ Command = 'Copy-Checkpoint'; Extra = @{ Destination = (Join-Path $TestDrive 'files-among-copy') } }
            @{ Command = 'Repair-CheckpointIndex'; Extra = @{} }
        )
        foreach ($reader in $readers) {
            $extra = $reader.Extra
            $errors = $null
            $because = "$($reader.Command) $($extra.Keys)"
            $null = & $reader.Command -LiteralPath $file, $good @extra -ErrorVariable errors -ErrorAction SilentlyContinue
            @($errors).Count | Should -Be 1 -Because $because
            $errors[0].FullyQualifiedErrorId | Should -BeExactly "NotADirectory,DataraxCkpt.Commands.$($reader.Command -replace '-', '')Command" -Because $because
            $errors[0].TargetObject | Should -Be $file -Because $because
        }
        Unlock-Checkpoint -LiteralPath $good -Step 1
        Get-Content -LiteralPath $file | Should -Be 'notes' -Because 'the file is left as it was'
    }

    It 'a symbolic link to a missing folder, or a link loop, is DirectoryNotFound (not "is a file"), and Get-CheckpointStep answers nothing for it; a link to a file is NotADirectory' -Skip:$IsWindows {
        # The provider says a dangling link exists and is no container; what it names does not exist, as the engine says.
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'links')
        $dangling = Join-Path $root.FullName 'dangling'
        $loop = Join-Path $root.FullName 'loop'
        $toFile = Join-Path $root.FullName 'to-file'
        $file = Join-Path $root.FullName 'notes.txt'
        'notes' | Set-Content -LiteralPath $file
        $null = New-Item -ItemType SymbolicLink -Path $dangling -Target (Join-Path $root.FullName 'not-yet-created')
        $null = New-Item -ItemType SymbolicLink -Path $toFile -Target $file
        ln -s $loop $loop
        foreach ($link in $dangling, $loop) {
            $errors = $null
            $null = Get-Checkpoint -LiteralPath $link -ErrorVariable errors -ErrorAction SilentlyContinue
            @($errors).Count | Should -Be 1 -Because $link
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'DirectoryNotFound,DataraxCkpt.Commands.GetCheckpointCommand' -Because $link
            $errors[0].TargetObject | Should -Be $link
            $errors = $null
            @(Get-CheckpointStep -LiteralPath $link -ErrorVariable errors -ErrorAction Stop).Count | Should -Be 0 -Because "a missing directory holds no step ($link)"
            @(Get-CheckpointStep -LiteralPath $link -Latest -ErrorAction Stop).Count | Should -Be 0
        }
        $errors = $null
        $null = Get-Checkpoint -LiteralPath $toFile -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'NotADirectory,DataraxCkpt.Commands.GetCheckpointCommand'
        $errors = $null
        $null = Get-CheckpointStep -LiteralPath "$file/" -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'NotADirectory,DataraxCkpt.Commands.GetCheckpointStepCommand' -Because 'a trailing slash still names the file'
        Test-Path -LiteralPath (Join-Path $root.FullName 'not-yet-created') | Should -BeFalse -Because 'nothing is created through the link'
    }

    It 'Save-Checkpoint and Copy-Checkpoint -Destination into an existing file stop with one NotADirectory naming it (not an IOError per step or per piped state), and the file is left as it was' {
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'into-file')
        $file = Join-Path $root.FullName 'notes.txt'
        'notes' | Set-Content -LiteralPath $file
        $source = Join-Path $root.FullName 'ck'
        1..3 | ForEach-Object { @{ a = $_ } | Save-Checkpoint -LiteralPath $source -Step $_ }
        $cases = @(
            @{ Command = 'CopyCheckpoint'; Run = { Copy-Checkpoint -LiteralPath $source -Destination $file -ErrorAction Continue } }
            @{ Command = 'CopyCheckpoint'; Run = { Copy-Checkpoint -LiteralPath $source -Destination $file -Overwrite -ErrorAction Continue } }
            @{ Command = 'SaveCheckpoint'; Run = { @{ a = 1 }, @{ a = 2 }, @{ a = 3 } | Save-Checkpoint -LiteralPath $file -ErrorAction Continue } }
            @{ Command = 'SaveCheckpoint'; Run = { @{ a = 1 } | Save-Checkpoint -Path $file -Step 1 -Overwrite -ErrorAction Continue } }
            @{ Command = 'SaveCheckpoint'; Run = { @{ a = 1 } | Save-Checkpoint -Path (Join-Path $root.FullName 'notes.tx?') -ErrorAction Continue } }
        )
        foreach ($case in $cases) {
            $records = [System.Collections.Generic.List[object]]::new()
            $thrown = $null
            try { & $case.Run 2>&1 | ForEach-Object { $records.Add($_) } } catch { $thrown = $_ }
            @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -Be 0 -Because "one error only, the one that stops $($case.Run)"
            $thrown | Should -Not -BeNullOrEmpty -Because "$($case.Run) stops: it has nowhere to write"
            $thrown.FullyQualifiedErrorId | Should -BeExactly "NotADirectory,DataraxCkpt.Commands.$($case.Command)Command" -Because "$($case.Run)"
            $thrown.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $thrown.TargetObject | Should -Be $file
            $thrown.Exception.Message | Should -BeLike "*'$file'*is a file*"
            Get-Content -LiteralPath $file | Should -Be 'notes' -Because 'the file is left as it was'
        }
        Get-CheckpointStep -LiteralPath $source | Should -Be @(1, 2, 3)
    }

    It 'a provider-qualified relative wildcard (FileSystem::runs/*) is InvalidPath whatever the process directory holds: readers and Remove-Checkpoint -Keep report it (non-terminating) instead of reading nothing, Save-Checkpoint stops, completion offers nothing' {
        # It matched against the process directory: nothing there was a silent empty read (a retention job that never
        # prunes), a match there was InvalidPath; FileSystem::runs/a (no wildcard) is always InvalidPath.
        $processDir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'fsqw-process')
        $location = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'fsqw-location')
        1..3 | ForEach-Object { @{ a = $_ } | Save-Checkpoint -LiteralPath (Join-Path $location.FullName 'runs/a') -Step $_ }
        $good = Join-Path $TestDrive 'fsqw-good'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $good -Step 5
        Invoke-InLocationAndProcessDirectory $location.FullName $processDir.FullName {
            foreach ($bad in 'FileSystem::runs/*', 'FileSystem::runs/[ab]', 'Microsoft.PowerShell.Core\FileSystem::./runs/a*', 'FileSystem::nope/*') {
                $errors = $null
                $steps = Get-CheckpointStep -Path $bad, $good -ErrorVariable errors -ErrorAction SilentlyContinue
                $steps | Should -Be @(5) -Because "the other path is still read ($bad)"
                @($errors).Count | Should -Be 1 -Because $bad
                $errors[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.GetCheckpointStepCommand' -Because $bad
                $errors[0].TargetObject | Should -Be $bad
                $errors[0].Exception.Message | Should -BeLike '*not a full path*' -Because $bad
                $errors = $null
                Remove-Checkpoint -Path $bad -Keep 1 -Confirm:$false -ErrorVariable errors -ErrorAction SilentlyContinue
                $errors[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.RemoveCheckpointCommand' -Because $bad
                $caught = $null
                try { @{ a = 1 } | Save-Checkpoint -Path $bad -Step 9 } catch { $caught = $_ }
                $caught.FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.SaveCheckpointCommand' -Because $bad
                $line = "Get-Checkpoint -Path '$bad' -Step "
                (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | Should -BeNullOrEmpty -Because $bad
            }
            # The same wildcard when the process directory holds a match: the same error, not another one.
            [Environment]::CurrentDirectory = $location.FullName
            $errors = $null
            Get-CheckpointStep -Path 'FileSystem::runs/*' -ErrorVariable errors -ErrorAction SilentlyContinue
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.GetCheckpointStepCommand'
        }
        Get-CheckpointStep -LiteralPath (Join-Path $location.FullName 'runs/a') | Should -Be @(1, 2, 3) -Because 'nothing was pruned'
        @(Get-ChildItem -LiteralPath $processDir.FullName -Force).Count | Should -Be 0
    }

    It 'a mistyped Azure URL that reaches the file-system provider is InvalidPath whose message and target show no SAS signature' {
        foreach ($typed in 'https:/acct.blob.core.windows.net/c/ck?sv=2020-08-04&sig=SECRETSIG', ' https://acct.blob.core.windows.net/c/ck?sv=2020-08-04&sig=SECRETSIG') {
            $errors = $null
            $null = Get-CheckpointStep -LiteralPath $typed -ErrorVariable errors -ErrorAction SilentlyContinue
            @($errors).Count | Should -Be 1 -Because $typed
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.GetCheckpointStepCommand' -Because $typed
            "$($errors[0])" | Should -Not -BeLike '*SECRETSIG*' -Because $typed
            "$($errors[0].TargetObject)" | Should -Not -BeLike '*SECRETSIG*' -Because $typed
            ($errors[0] | Out-String) | Should -Not -BeLike '*SECRETSIG*' -Because $typed
        }
    }

    It 'no error (message, target, "$_"), warning or -Verbose line of any command shows the SAS signature of a mistyped Azure URL: a refused drive, not a full path, UNC, another provider, a missing folder or wildcard parent, a file, a folder saved under that name' {
        # Found by the review of the redaction: RemoteLocations.Shown redacted only what IsRemote recognised, so every
        # refusal but the provider's printed a mistyped URL's signature (InvalidPath, UncPathNotSupported, NotADirectory,
        # DirectoryNotFound, PathNotFound's target, the engine's -Verbose lines). 'SIG=' in capitals: the rule ignores case.
        $good = Join-Path $TestDrive 'sig-good'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $good -Step 1
        $query = '?sv=2020-08-04&SIG=SECRETSIG'
        $file = Join-Path $TestDrive 'sig-file?sv=2020-08-04&sig=SECRETSIG'
        Set-Content -LiteralPath $file -Value 'x'
        $typedPaths = @(
            "https:/acct.blob.core.windows.net/c/ck$query"
            " https://acct.blob.core.windows.net/c/ck$query"
            "FileSystem::https:/acct.blob.core.windows.net/c/ck$query"
            "//acct.blob.core.windows.net/c/ck$query"
            "Variable:acct$query"
            $file
            (Join-Path $TestDrive "sig-missing/c$query")
        )
        # Copy and Save come last: they create the local folder of the last path, whose later messages are checked too.
        $commands = @(
            { param($p) Get-Checkpoint -LiteralPath $p }
            { param($p) Get-Checkpoint -Path $p }
            { param($p) Get-CheckpointStep -LiteralPath $p }
            { param($p) Get-CheckpointItem -LiteralPath $p }
            { param($p) Test-Checkpoint -LiteralPath $p }
            { param($p) Compare-Checkpoint -LiteralPath $p -ReferenceStep 1 }
            { param($p) Restore-Checkpoint -LiteralPath $p }
            { param($p) Remove-Checkpoint -LiteralPath $p -Keep 1 -Confirm:$false }
            { param($p) Remove-Checkpoint -LiteralPath $p -Step 1 -Confirm:$false }
            { param($p) Get-Item -LiteralPath $p -Force -ErrorAction Ignore | Remove-Checkpoint -Keep 1 -Confirm:$false }
            { param($p) Lock-Checkpoint -LiteralPath $p -Step 1 }
            { param($p) Unlock-Checkpoint -LiteralPath $p -Step 1 }
            { param($p) Repair-CheckpointIndex -LiteralPath $p -Confirm:$false }
            { param($p) Copy-Checkpoint -LiteralPath $p -Destination (Join-Path $TestDrive 'sig-copy') }
            { param($p) Copy-Checkpoint -LiteralPath $good -Destination $p -Confirm:$false }
            { param($p) @{ a = 2 } | Save-Checkpoint -LiteralPath $p -Step 2 }
            { param($p) Get-Checkpoint -LiteralPath $p -Step 2 | Remove-Checkpoint -Confirm:$false }
        )
        $VerbosePreference = 'Continue'
        foreach ($typed in $typedPaths) {
            $errors = 0
            $verbose = 0
            foreach ($command in $commands) {
                $records = [Collections.Generic.List[object]]::new()
                try { & $command $typed 2>&1 3>&1 4>&1 | ForEach-Object { $records.Add($_) } } catch { $records.Add($_) }
                foreach ($record in $records) {
                    $shown = switch ($record) {
                        { $_ -is [Management.Automation.ErrorRecord] } {
                            $errors++
                            "$record"; $record.Exception.Message; "$($record.TargetObject)"; "$($record.ErrorDetails)"; ($record | Out-String)
                        }
                        { $_ -is [Management.Automation.InformationalRecord] } { $verbose++; $record.Message }
                    }
                    foreach ($text in $shown) { $text | Should -Not -BeLike '*SECRETSIG*' -Because "$command with '$typed'" }
                }
            }
            $errors | Should -BeGreaterThan 5 -Because "most commands refuse '$typed'"
        }
        $verbose | Should -BeGreaterThan 0 -Because 'the save to the folder named so logs its steps'
        Get-CheckpointStep -LiteralPath $typedPaths[-1] | Should -Be @(1) -Because 'the last command removed the saved step 2'
    }

    It 'a mistyped Azure URL whose signature is percent-encoded (%73ig=, s%69g=, %53%49%47=, which the storage service decodes to sig=) shows no signature either' {
        # Found by the attack on the redaction: only a literal 'sig=' was redacted, so '&%73ig=…' printed the working
        # signature in every refusal (message, target, "$_", the exception's message).
        $commands = @(
            { param($p) Get-Checkpoint -LiteralPath $p }
            { param($p) Get-CheckpointStep -Path $p }
            { param($p) Test-Checkpoint -LiteralPath $p }
            { param($p) Remove-Checkpoint -LiteralPath $p -Keep 1 -Confirm:$false }
            { param($p) [pscustomobject]@{ Directory = $p } | Remove-Checkpoint -Keep 1 -Confirm:$false }
            { param($p) Copy-Checkpoint -LiteralPath $p -Destination (Join-Path $TestDrive 'pct-copy') }
        )
        foreach ($encoded in '%73ig=', 's%69g=', '%53%49%47=', 'si%67=') {
            foreach ($typed in "https:/acct.blob.core.windows.net/c/ck?sv=2020-08-04&${encoded}SECRETSIG", (Join-Path $TestDrive "pct-missing/c?sv=2020-08-04&${encoded}SECRETSIG")) {
                $seen = 0
                foreach ($command in $commands) {
                    $records = [Collections.Generic.List[object]]::new()
                    try { & $command $typed 2>&1 3>&1 4>&1 | ForEach-Object { $records.Add($_) } } catch { $records.Add($_) }
                    foreach ($record in $records | Where-Object { $_ -is [Management.Automation.ErrorRecord] }) {
                        $seen++
                        foreach ($text in "$record", $record.Exception.Message, "$($record.TargetObject)", "$($record.ErrorDetails)", ($record | Out-String)) {
                            $text | Should -Not -BeLike '*SECRETSIG*' -Because "$command with '$typed'"
                        }
                    }
                }
                $seen | Should -Be $commands.Count -Because "each command refuses '$typed'"
            }
        }
    }

    It '~ with no home folder (cron without HOME) is one non-terminating InvalidPath per path for readers, the other paths still read; Save-Checkpoint stops with InvalidPath; nothing written' {
        # The provider throws PSInvalidOperationException ("Home location for this provider is not set"), which stopped
        # every reader outright, the good paths after it unread.
        $good = Join-Path $TestDrive 'nohome-good'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $good -Step 6
        $provider = Get-PSProvider FileSystem
        $savedHome = $provider.Home
        $provider.Home = $null
        try {
            foreach ($reader in 'Get-CheckpointStep', 'Get-Checkpoint', 'Test-Checkpoint') {
                $errors = $null
                $caught = $null
                $read = $null
                try { $read = & $reader -Path '~/nohome-ck', $good -ErrorVariable errors -ErrorAction SilentlyContinue } catch { $caught = $_ }
                $caught | Should -BeNullOrEmpty -Because $reader
                $read | Should -Not -BeNullOrEmpty -Because "$reader reads the good path after it"
                @($errors).Count | Should -Be 1 -Because $reader
                $errors[0].FullyQualifiedErrorId | Should -BeExactly "InvalidPath,DataraxCkpt.Commands.$($reader -replace '-', '')Command"
                $errors[0].TargetObject | Should -Be '~/nohome-ck'
                $errors[0].Exception.Message | Should -BeLike '*Home*'
                # The provider's message names no path: the record's message does, for a job's log with several paths.
                "$($errors[0])" | Should -BeLike "'~/nohome-ck':*Home*" -Because $reader
            }
            $errors = $null
            Get-CheckpointStep -LiteralPath '~/nohome-ck' -ErrorVariable errors -ErrorAction SilentlyContinue
            $errors[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.GetCheckpointStepCommand'
            $caught = $null
            try { @{ a = 1 } | Save-Checkpoint -Path '~/nohome-ck' -Step 1 } catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.SaveCheckpointCommand'
            $caught.TargetObject | Should -Be '~/nohome-ck'
            $line = "Get-Checkpoint -Path '~/nohome-ck' -Step "
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | Should -BeNullOrEmpty
        }
        finally { $provider.Home = $savedHome }
        Join-Path $PWD '~' | Should -Not -Exist
        Join-Path ([Environment]::CurrentDirectory) '~' | Should -Not -Exist
    }

    It 'Save-Checkpoint and Copy-Checkpoint -Destination on a symbolic link to a missing folder (or a link loop) stop with one NotADirectory naming the link and its target, nothing created, the link left as it was' -Skip:$IsWindows {
        # The engine failed once per piped state or copied step with "The file ... already exists", naming no link.
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'dest-links')
        $target = Join-Path $root.FullName 'not-yet'
        $dangling = Join-Path $root.FullName 'dangling'
        $loop = Join-Path $root.FullName 'loop'
        $null = New-Item -ItemType SymbolicLink -Path $dangling -Target $target
        ln -s $loop $loop
        $source = Join-Path $root.FullName 'ck'
        1..2 | ForEach-Object { @{ a = $_ } | Save-Checkpoint -LiteralPath $source -Step $_ }
        foreach ($link in $dangling, $loop) {
            $cases = @(
                @{ Command = 'SaveCheckpoint'; Run = { @{ a = 1 }, @{ a = 2 } | Save-Checkpoint -LiteralPath $link -ErrorAction Continue } }
                @{ Command = 'CopyCheckpoint'; Run = { Copy-Checkpoint -LiteralPath $source -Destination $link -ErrorAction Continue } }
            )
            foreach ($case in $cases) {
                $records = [System.Collections.Generic.List[object]]::new()
                $thrown = $null
                try { & $case.Run 2>&1 | ForEach-Object { $records.Add($_) } } catch { $thrown = $_ }
                @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -Be 0 -Because "one error only ($link)"
                $thrown.FullyQualifiedErrorId | Should -BeExactly "NotADirectory,DataraxCkpt.Commands.$($case.Command)Command" -Because "$link $($case.Run)"
                $thrown.TargetObject | Should -Be $link
                $thrown.Exception.Message | Should -BeLike "*'$link'*symbolic link*"
            }
        }
        $target | Should -Not -Exist
        (Get-Item -LiteralPath $dangling -Force).LinkTarget | Should -Be $target
    }
}
