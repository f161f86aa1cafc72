# Each failure of CONTRACT section 6 as an ErrorRecord with a stable FullyQualifiedErrorId and category.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Error identities' {
    BeforeAll {
        $dir = Join-Path $TestDrive 'ck'
        @{ a = 1 } | Save-Checkpoint $dir -Step 1
    }

    It 'a missing directory is DirectoryNotFound / ObjectNotFound' {
        $missing = Join-Path $TestDrive 'missing'
        $errors = $null
        Restore-Checkpoint $missing -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'DirectoryNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'a missing directory is DirectoryNotFound / ObjectNotFound, and a file where the directory should be NotADirectory / InvalidArgument, for every form of restore, and nothing is output' {
        # Restore-Checkpoint leaves a local directory's existence to the engine's own check (round 28): each form
        # of restore must still refuse a missing one the same way.
        $missing = Join-Path $TestDrive 'missing-forms'
        $file = Join-Path $TestDrive 'a-file'
        Set-Content -LiteralPath $file -Value 'not a checkpoint directory'
        $forms = @(
            @{ Name = 'plain'; Extra = @{} }
            @{ Name = 'Step'; Extra = @{ Step = 1 } }
            @{ Name = 'IncludeInfo'; Extra = @{ IncludeInfo = $true } }
            @{ Name = 'Item'; Extra = @{ Item = 'a' } }
            @{ Name = 'MetadataOnly'; Extra = @{ MetadataOnly = $true } }
            @{ Name = 'Into'; Extra = @{ Into = @{ a = 0 } } }
        )
        # A file was DirectoryNotFound too ("does not exist"); it exists, and the error now says it is a file.
        $expected = @{ $missing = @('DirectoryNotFound', 'ObjectNotFound'); $file = @('NotADirectory', 'InvalidArgument') }
        foreach ($place in $missing, $file) {
            foreach ($form in $forms) {
                $errors = $null
                $extra = $form.Extra
                $out = @(Restore-Checkpoint -LiteralPath $place @extra -ErrorVariable errors -ErrorAction SilentlyContinue)
                $out.Count | Should -Be 0 -Because "$($form.Name) on $place"
                $errors.Count | Should -Be 1 -Because "$($form.Name) on $place"
                $errors[0].FullyQualifiedErrorId | Should -BeExactly "$($expected[$place][0]),DataraxCkpt.Commands.RestoreCheckpointCommand" -Because "$($form.Name) on $place"
                $errors[0].CategoryInfo.Category | Should -Be $expected[$place][1]
                $errors[0].TargetObject | Should -Be $place
            }
        }
        Test-Path -LiteralPath $missing | Should -BeFalse -Because 'a restore never creates the directory'
    }

    It 'Save-Checkpoint -Path on an unknown drive or provider stops with DriveNotFound / ProviderNotFound, ObjectNotFound, as the provider raised it' {
        # Found by the attack on modsave: a path without wildcard characters is no longer asked of the provider, and
        # C:\ckpt on Linux (or nodrive:/x, Foo::bar) had become AmbiguousPath / InvalidArgument.
        $cases = @(
            @{ Path = 'dxckNoSuchDrive:/ckpt'; Id = 'DriveNotFound'; Target = 'dxckNoSuchDrive' }
            @{ Path = 'DxckNoSuchProvider::ckpt'; Id = 'ProviderNotFound'; Target = 'DxckNoSuchProvider' }
        )
        foreach ($case in $cases) {
            $caught = $null
            try { @{ a = 1 } | Save-Checkpoint -Path $case.Path -Step 1 -ErrorAction SilentlyContinue } catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty -Because $case.Path
            $caught.FullyQualifiedErrorId | Should -BeExactly "$($case.Id),DataraxCkpt.Commands.SaveCheckpointCommand" -Because $case.Path
            $caught.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $caught.TargetObject | Should -Be $case.Target
        }
    }

    It 'with -ErrorAction Stop, a missing directory among several stops Restore-Checkpoint before any is restored, -Into state untouched' {
        # Found by the attack on modsave: leaving existence to the engine made Restore-Checkpoint good,missing -ErrorAction Stop
        # restore good (and write it into the -Into state) before stopping on missing; every path used to be checked first.
        $good = Join-Path $TestDrive 'stop-good'
        @{ a = 5 } | Save-Checkpoint -LiteralPath $good -Step 1
        $missing = Join-Path $TestDrive 'stop-missing'
        $seen = [Collections.Generic.List[object]]::new()
        { Restore-Checkpoint -LiteralPath $good, $missing -ErrorAction Stop | ForEach-Object { $seen.Add($_) } } |
            Should -Throw -ErrorId 'DirectoryNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $seen.Count | Should -Be 0
        $state = @{ a = 0 }
        { Restore-Checkpoint -LiteralPath $good, $missing -Into $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'DirectoryNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $state.a | Should -Be 0
    }

    It 'an empty directory is NoCheckpoints / ObjectNotFound' {
        $empty = (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'empty')).FullName
        $errors = $null
        Restore-Checkpoint $empty -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'NoCheckpoints,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'a missing step is StepNotFound / ObjectNotFound, for restore, get and remove' {
        $errors = $null
        Restore-Checkpoint $dir -Step 9 -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'StepNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors = $null
        Get-Checkpoint $dir -Step 9 -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'StepNotFound,DataraxCkpt.Commands.GetCheckpointCommand'
        $errors = $null
        Remove-Checkpoint $dir -Step 9 -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'StepNotFound,DataraxCkpt.Commands.RemoveCheckpointCommand'
    }

    It 'saving an existing step is StepExists / ResourceExists and keeps the old data' {
        $errors = $null
        @{ a = 2 } | Save-Checkpoint $dir -Step 1 -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'StepExists,DataraxCkpt.Commands.SaveCheckpointCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        (Restore-Checkpoint $dir -Step 1).a | Should -Be 1
    }

    It 'an unsupported value is UnsupportedValue / InvalidArgument, names its path, and writes nothing' {
        $target = Join-Path $TestDrive 'unsupported'
        $errors = $null
        @{ model = @{ act_fn = { 'relu' } } } | Save-Checkpoint $target -Step 0 -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'UnsupportedValue,DataraxCkpt.Commands.SaveCheckpointCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errors[0].Exception.Message | Should -Match 'model.act_fn'
        Get-CheckpointStep $target | Should -BeNullOrEmpty
    }

    It 'a cyclic PSCustomObject is UnsupportedValue naming where the cycle closes' {
        $target = Join-Path $TestDrive 'cycle'
        $node = [pscustomobject]@{ name = 'a'; next = $null }
        $node.next = $node
        $errors = $null
        Save-Checkpoint $target -InputObject @{ head = $node } -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'UnsupportedValue,DataraxCkpt.Commands.SaveCheckpointCommand'
        $errors[0].Exception.Message | Should -Match 'head.next'
        Get-CheckpointStep $target | Should -BeNullOrEmpty
    }

    It 'corrupted stored bytes are CorruptCheckpoint / InvalidData' {
        $target = Join-Path $TestDrive 'corrupt'
        $data = [float[]]::new(4096)
        for ($i = 0; $i -lt $data.Length; $i++) { $data[$i] = [math]::Sin($i) }
        @{ w = $data } | Save-Checkpoint $target -Step 5
        # Flip a bit in the middle of every file of the step: whichever holds the tensor, it is damaged.
        foreach ($file in Get-ChildItem -LiteralPath (Join-Path $target '5') -Recurse -File) {
            $bytes = [IO.File]::ReadAllBytes($file.FullName)
            if ($bytes.Length -gt 64) {
                $bytes[[int]($bytes.Length / 2)] = $bytes[[int]($bytes.Length / 2)] -bxor 0x10
                [IO.File]::WriteAllBytes($file.FullName, $bytes)
            }
        }
        $errors = $null
        $restored = Restore-Checkpoint $target -ErrorVariable errors -ErrorAction SilentlyContinue
        $restored | Should -BeNullOrEmpty
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'CorruptCheckpoint,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
    }
}

Describe 'Error flow' {
    BeforeAll {
        $dir = Join-Path $TestDrive 'flow'
        foreach ($step in 1, 2) { @{ s = $step } | Save-Checkpoint $dir -Step $step }
    }

    It 'one bad pipeline item does not stop the rest' {
        $errors = $null
        $infos = Get-Checkpoint $dir -Step 1, 9, 2 -ErrorVariable errors -ErrorAction SilentlyContinue
        $infos.Step | Should -Be @(1, 2)
        $errors.Count | Should -Be 1
    }

    It 'one failing input of Save-Checkpoint does not stop the next' {
        $target = Join-Path $TestDrive 'save-flow'
        $errors = $null
        @{ ok = 1 }, @{ bad = { 1 } }, @{ ok = 3 } | Save-Checkpoint $target -Step 10 -ErrorVariable errors -ErrorAction SilentlyContinue
        Get-CheckpointStep $target | Should -Be @(10, 12)
        $errors.Count | Should -Be 1
    }

    It '-ErrorAction Stop makes an engine failure terminating' {
        { Restore-Checkpoint $dir -Step 9 -ErrorAction Stop } | Should -Throw -ErrorId 'StepNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
    }

    It 'a path outside the file system is refused with NotAFileSystemPath' {
        $errors = $null
        Get-Checkpoint 'Env:\PATH' -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'NotAFileSystemPath,DataraxCkpt.Commands.GetCheckpointCommand'
    }
}

Describe 'Engine errors on a folder whose name holds a SAS signature' -Skip:$IsWindows {
    # Found by the review of the redaction: only DirectoryNotFound was rebuilt on the shown path, so every other engine
    # error on such a folder (a mistyped SAS URL taken for a local path, or a folder named so) kept the signature in
    # $_.Exception.Message, the exception's Directory, its ToString() and Get-Error; only the record's message was clean.
    BeforeAll {
        function Get-ShownTexts([Management.Automation.ErrorRecord] $Record) {
            "$Record"
            ($Record | Out-String)
            (Get-Error -InputObject $Record | Out-String)
            $Record.Exception.Message
            $Record.Exception.ToString()
            "$($Record.TargetObject)"
            for ($e = $Record.Exception; $null -ne $e; $e = $e.InnerException) {
                foreach ($property in $e.PSObject.Properties) {
                    $value = try { $property.Value } catch { $null }
                    if ($value -is [string]) { $value }
                    elseif ($value -is [DataraxCkpt.CheckpointInfo]) { $value.Directory; $value.Path; "$value" }
                }
            }
        }

        $script:dir = Join-Path $TestDrive 'run?sv=2020-08-04&sig=SECRETSIG'
        $data = [float[]]::new(4096)
        for ($i = 0; $i -lt $data.Length; $i++) { $data[$i] = [math]::Sin($i) }
        @{ w = $data } | Save-Checkpoint -LiteralPath $dir -Step 1
        @{ w = $data } | Save-Checkpoint -LiteralPath $dir -Step 2
        $script:empty = (New-Item -ItemType Directory -Path (Join-Path $TestDrive "empty?sv=1&%73ig=SECRETSIG")).FullName
        $script:corrupt = Join-Path $TestDrive "corrupt?sv=1&SIG=SECRETSIG"
        @{ w = $data } | Save-Checkpoint -LiteralPath $corrupt -Step 5
        foreach ($file in Get-ChildItem -LiteralPath (Join-Path $corrupt '5') -Recurse -File) {
            $bytes = [IO.File]::ReadAllBytes($file.FullName)
            if ($bytes.Length -gt 64) {
                $bytes[[int]($bytes.Length / 2)] = $bytes[[int]($bytes.Length / 2)] -bxor 0x10
                [IO.File]::WriteAllBytes($file.FullName, $bytes)
            }
        }
        Lock-Checkpoint -LiteralPath $dir -Step 1
    }

    It '<id> (<why>): no text of the record, of Get-Error, or of any string property of the exception and its inner ones shows the signature; the id is unchanged' -ForEach @(
        @{ id = 'StepNotFound'; why = 'restore of a missing step'; command = { Restore-Checkpoint -LiteralPath $dir -Step 9 } }
        @{ id = 'StepExists'; why = 'save over a committed step'; command = { @{ a = 1 } | Save-Checkpoint -LiteralPath $dir -Step 1 } }
        @{ id = 'StepPinned'; why = 'removal of a pinned step'; command = { Remove-Checkpoint -LiteralPath $dir -Step 1 -Confirm:$false } }
        @{ id = 'NoCheckpoints'; why = 'restore from an empty folder'; command = { Restore-Checkpoint -LiteralPath $empty } }
        @{ id = 'CorruptCheckpoint'; why = 'restore of damaged bytes'; command = { Restore-Checkpoint -LiteralPath $corrupt -Step 5 } }
    ) {
        $records = [Collections.Generic.List[object]]::new()
        try { & $command 2>&1 | ForEach-Object { $records.Add($_) } } catch { $records.Add($_) }
        $errors = @($records | Where-Object { $_ -is [Management.Automation.ErrorRecord] })
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike "$id,DataraxCkpt.Commands.*"
        $errors[0].Exception.ErrorId | Should -BeExactly $id
        $errors[0].Exception.GetType().Name | Should -BeExactly "${id}Exception"
        $errors[0].Exception.Directory | Should -BeLike '*?<redacted>' -Because 'the folder is still named, without its query'
        $texts = @(Get-ShownTexts $errors[0])
        $texts.Count | Should -BeGreaterThan 6
        foreach ($text in $texts) {
            $text | Should -Not -BeLike '*SECRETSIG*'
            $text | Should -Not -BeLike '*sig=*'
        }
    }

    It 'an engine error that is no checkpoint error (<type>) shows no signature, in the record or in what a catch sees, and keeps its type' -ForEach @(
        @{ type = 'System.IO.IOException'; id = 'IOError' }
    ) {
        # Found by the attack on debts14: only CheckpointExceptions were redacted; an IOException quoting the folder
        # (its step folder's name taken by a file) kept the signature in $_.Exception.Message and ToString().
        $blocked = Join-Path $dir '7'
        Set-Content -LiteralPath $blocked -Value 'in the way'
        try {
            $caught = $null
            try { @{ a = 7 } | Save-Checkpoint -LiteralPath $dir -Step 7 -ErrorAction Stop } catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty
            $caught.FullyQualifiedErrorId | Should -BeLike "$id,DataraxCkpt.Commands.*"
            $caught.Exception.GetType().FullName | Should -BeExactly $type
            $caught.Exception.Message | Should -BeLike '*?<redacted>/7*' -Because 'the step folder it could not create is still named'
            "$caught" | Should -BeLike '*?<redacted>/7*'
            $texts = @(Get-ShownTexts $caught)
            foreach ($text in $texts) {
                $text | Should -Not -BeLike '*SECRETSIG*'
                $text | Should -Not -BeLike '*sig=*'
            }
        }
        finally {
            Remove-Item -LiteralPath $blocked -Force
        }
    }

    It 'an engine ArgumentException whose message holds a signature is still caught by catch [System.ArgumentException], and nothing a catch or $Error shows holds the signature' {
        # Session 14 turned every engine exception outside a short list (ArgumentException among them) into a stand-in
        # once its message was redacted, so a script's catch [System.ArgumentException] around the cmdlet stopped
        # matching. A malformed fault entry is an ArgumentException the engine throws from inside a save, quoting the
        # entry: a fresh process, since the engine reads the variable once.
        $target = Join-Path $TestDrive 'argument-target'
        $run = Invoke-FreshPwsh -Environment @{ DATARAXCKPT_FAULT = 'save.intent.before-start=kill@1?sv=1&sig=SECRETSIG' } -Script @"
Import-Module '$ModuleManifest'
try {
    @{ a = 1 } | Save-Checkpoint -LiteralPath '$target' -Step 1 -ErrorAction Stop
    'RESULT no error'
}
catch [System.ArgumentException] {
    'RESULT caught ' + `$_.Exception.GetType().FullName + ' ' + `$_.FullyQualifiedErrorId
    'TEXT ' + `$_.Exception.Message
    'TEXT ' + `$_.Exception.ToString()
    'TEXT ' + "`$_"
    'TEXT ' + (`$_ | Out-String)
    for (`$e = `$_.Exception; `$null -ne `$e; `$e = `$e.InnerException) { 'TEXT ' + `$e.Message }
    'TEXT ' + (`$Error[0] | Format-List * -Force | Out-String)
    'TEXT ' + (`$Error[0].Exception | Format-List * -Force | Out-String)
    'TEXT ' + (Get-Error -InputObject `$Error[0] | Out-String)
}
catch {
    'RESULT other ' + `$_.Exception.GetType().FullName
}
"@
        $text = $run.Output -join "`n"
        @($run.Output | Where-Object { $_ -like 'RESULT *' }) | Should -Be @('RESULT caught System.ArgumentException InvalidArgument,DataraxCkpt.Commands.SaveCheckpointCommand') -Because $text
        $text | Should -BeLike '*is not a valid fault entry*the hit count ''1?<redacted>''*' -Because 'the message is kept, only its signature redacted'
        $text | Should -Not -BeLike '*SECRETSIG*'
        $text | Should -Not -BeLike '*sig=*'
    }

    It 'a save where the runtime takes no file locks is FileLockingDisabled / NotEnabled naming the variable, and listing still works' -Skip:$IsWindows {
        # The runtime reads DOTNET_SYSTEM_IO_DISABLEFILELOCKING once, at its first file open: a fresh process. Without
        # the refusal a lone writer's save succeeded there, and a second writer's recovery swept live saves.
        $target = Join-Path $TestDrive 'no-file-locks'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $target -Step 1
        $run = Invoke-FreshPwsh -Environment @{ DOTNET_SYSTEM_IO_DISABLEFILELOCKING = '1'; DATARAXCKPT_ALLOW_NETWORK_FS = '' } -Script @"
Import-Module '$ModuleManifest'
try {
    @{ a = 2 } | Save-Checkpoint -LiteralPath '$target' -Step 2 -ErrorAction Stop
    'RESULT no error'
}
catch {
    'RESULT ' + `$_.FullyQualifiedErrorId + ' ' + `$_.CategoryInfo.Category + ' ' + `$_.Exception.GetType().FullName
    'TEXT ' + `$_.Exception.Message
}
'STEPS ' + ((Get-CheckpointStep -LiteralPath '$target') -join ',')
"@
        $text = $run.Output -join "`n"
        @($run.Output | Where-Object { $_ -like 'RESULT *' }) | Should -Be @('RESULT FileLockingDisabled,DataraxCkpt.Commands.SaveCheckpointCommand NotEnabled DataraxCkpt.FileLockingDisabledException') -Because $text
        $text | Should -BeLike "*Checkpoint directory '$target' cannot be written by this process*DOTNET_SYSTEM_IO_DISABLEFILELOCKING*Unset DOTNET_SYSTEM_IO_DISABLEFILELOCKING*" -Because $text
        @($run.Output | Where-Object { $_ -like 'STEPS *' }) | Should -Be @('STEPS 1') -Because $text
        Get-CheckpointStep -LiteralPath $target | Should -Be @(1)
    }

    It 'a session started without file locks is still refused after $env:DOTNET_SYSTEM_IO_DISABLEFILELOCKING is removed' -Skip:$IsWindows {
        # Attack on 07ecb04: the runtime keeps the value it read at process start; the store read the variable at each
        # change, so removing it in the session let saves through while no lock excluded anyone.
        $target = Join-Path $TestDrive 'no-file-locks-unset'
        $run = Invoke-FreshPwsh -Environment @{ DOTNET_SYSTEM_IO_DISABLEFILELOCKING = '1'; DATARAXCKPT_ALLOW_NETWORK_FS = '' } -Script @"
`$env:DOTNET_SYSTEM_IO_DISABLEFILELOCKING = `$null
Import-Module '$ModuleManifest'
try {
    @{ a = 1 } | Save-Checkpoint -LiteralPath '$target' -Step 1 -ErrorAction Stop
    'RESULT no error'
}
catch {
    'RESULT ' + `$_.FullyQualifiedErrorId
}
"@
        $text = $run.Output -join "`n"
        @($run.Output | Where-Object { $_ -like 'RESULT *' }) | Should -Be @('RESULT FileLockingDisabled,DataraxCkpt.Commands.SaveCheckpointCommand') -Because $text
        Test-Path -LiteralPath $target | Should -BeFalse
    }

    It 'a copy into a folder nested in the source (CopyOntoItself from the engine) shows no signature' {
        # Found by the attack on debts14: the engine's refusal of nested folders quotes both paths, and the cmdlet
        # passed its message on as it was.
        $nested = Join-Path $dir 'sub'
        $caught = $null
        try { Copy-Checkpoint -LiteralPath $dir -Destination $nested -ErrorAction Stop } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'CopyOntoItself,DataraxCkpt.Commands.*'
        $caught.Exception.Message | Should -BeLike '*run?<redacted>/sub*'
        foreach ($text in @(Get-ShownTexts $caught)) {
            $text | Should -Not -BeLike '*SECRETSIG*'
        }
    }

    It 'the warning of a retention that failed after the commit shows no signature' {
        Set-Content -LiteralPath (Join-Path $dir '.trash') -Value 'in the way'
        try {
            $saved = @{ a = 3 } | Save-Checkpoint -LiteralPath $dir -Step 3 -Keep 1 -PassThru -ErrorAction Stop -WarningVariable warnings -WarningAction SilentlyContinue
            $saved.Step | Should -Be 3
            @($warnings).Count | Should -Be 1
            "$($warnings[0])" | Should -BeLike 'Step 3 was saved and committed in *?<redacted>*'
            "$($warnings[0])" | Should -Not -BeLike '*SECRETSIG*'
        }
        finally {
            Remove-Item -LiteralPath (Join-Path $dir '.trash') -Force
        }
    }
}
