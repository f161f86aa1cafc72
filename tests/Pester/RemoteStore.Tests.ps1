# Every cmdlet on remote locations (az://, Azurite's http:// URL, a SAS URL) against Azurite (issue 14, module part).
# build.ps1 -Task Test starts Azurite and exports its connection string as DATARAXCKPT_TEST_AZURITE; each test
# uses its own container.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    $script:Azurite = Get-TestAzurite
    $script:SavedConnection = $env:AZURE_STORAGE_CONNECTION_STRING
    $script:SavedAccount = $env:AZURE_STORAGE_ACCOUNT
    $env:AZURE_STORAGE_CONNECTION_STRING = $Azurite.ConnectionString
    $env:AZURE_STORAGE_ACCOUNT = $null
    Import-Module $ModuleManifest -Force

    function New-Container { 'dx' + [guid]::NewGuid().ToString('N') }

    function New-State([int] $Seed) {
        $w = [float[]]::new(50000)
        for ($i = 0; $i -lt $w.Length; $i++) { $w[$i] = [math]::Sin($i + $Seed) }
        $w[3] = [BitConverter]::Int32BitsToSingle(0x7FC01234)   # a NaN with a payload
        $w[4] = -0.0
        [ordered]@{ w = $w; seed = $Seed; name = "state $Seed" }
    }

    function Get-Bits([float[]] $Floats) {
        $raw = [byte[]]::new($Floats.Length * 4)
        [Buffer]::BlockCopy($Floats, 0, $raw, 0, $raw.Length)
        [Convert]::ToBase64String($raw)
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
    $env:AZURE_STORAGE_CONNECTION_STRING = $SavedConnection
    $env:AZURE_STORAGE_ACCOUNT = $SavedAccount
}

Describe 'Cmdlets on an az:// location' {
    BeforeEach {
        $store = "az://$(New-Container)/runs/run-1"
    }

    It 'saves, lists and restores bit-exact with positional paths' {
        New-State 1 | Save-Checkpoint $store -Step 10 -Metadata @{ loss = 0.5 }
        Save-Checkpoint $store (New-State 2)

        Get-CheckpointStep $store | Should -Be @(10, 11)
        Get-CheckpointStep $store -Latest | Should -Be 11
        $records = Get-Checkpoint $store
        $records.Step | Should -Be @(10, 11)
        $records[0].Directory | Should -Be $store
        $restored = Restore-Checkpoint $store -Step 10
        Get-Bits $restored.w | Should -BeExactly (Get-Bits (New-State 1).w)
        $restored.name | Should -Be 'state 1'
        (Restore-Checkpoint $store -Step 10 -MetadataOnly).loss | Should -Be 0.5
        (Restore-Checkpoint -LiteralPath $store).seed | Should -Be 2
    }

    It 'lists items, verifies, compares, pins and repairs remotely' {
        New-State 1 | Save-Checkpoint -Path $store -Step 1
        New-State 2 | Save-Checkpoint -Path $store -Step 2

        (Get-CheckpointItem -Path $store -Step 1).Name | Should -Contain 'w'
        $checks = Test-Checkpoint -Path $store
        $checks.Step | Should -Be @(1, 2)
        ($checks | Where-Object { -not $_.Ok }) | Should -BeNullOrEmpty
        Test-Checkpoint -Path $store -Quiet | Should -BeTrue
        $diff = Compare-Checkpoint -Path $store -ReferenceStep 1 -DifferenceStep 2
        ($diff | Where-Object Name -eq 'w') | Should -Not -BeNullOrEmpty

        Lock-Checkpoint -Path $store -Step 1
        (Get-Checkpoint -Path $store -Step 1).Pinned | Should -BeTrue
        $err = $null
        Remove-Checkpoint -Path $store -Step 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'StepPinned,DataraxCkpt.Commands.RemoveCheckpointCommand'
        Unlock-Checkpoint -Path $store -Step 1
        (Get-Checkpoint -Path $store -Step 1).Pinned | Should -BeFalse

        Repair-CheckpointIndex -Path $store -Confirm:$false
        Get-CheckpointStep -Path $store | Should -Be @(1, 2)
    }

    It 'prunes and removes steps; -WhatIf deletes nothing' {
        foreach ($s in 1..4) { New-State $s | Save-Checkpoint -Path $store -Step $s }

        Remove-Checkpoint -Path $store -Keep 1 -WhatIf
        Remove-Checkpoint -Path $store -Step 1, 2 -WhatIf
        Get-Checkpoint -Path $store | Remove-Checkpoint -WhatIf
        Get-CheckpointStep -Path $store | Should -Be @(1, 2, 3, 4)

        Remove-Checkpoint -Path $store -Step 1 -Confirm:$false
        Get-CheckpointStep -Path $store | Should -Be @(2, 3, 4)
        Remove-Checkpoint -Path $store -Keep 1 -Confirm:$false
        Get-CheckpointStep -Path $store | Should -Be @(4)
    }

    It 'binds piped records of a remote store back to that store' {
        foreach ($s in 1..3) { New-State $s | Save-Checkpoint -Path $store -Step $s }

        (Get-Checkpoint -Path $store -Step 2 | Restore-Checkpoint).seed | Should -Be 2
        Get-Checkpoint -Path $store -Step 1 | Lock-Checkpoint
        (Get-Checkpoint -Path $store -Step 1).Pinned | Should -BeTrue
        Get-Checkpoint -Path $store -Step 3 | Remove-Checkpoint -Confirm:$false
        Get-CheckpointStep -Path $store | Should -Be @(1, 2)
        $store | Get-CheckpointStep | Should -Be @(1, 2)
    }

    It 'copies local -> remote -> local bit-exact, with metadata, creation time and pins' {
        $local = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        foreach ($s in 10, 20) { New-State $s | Save-Checkpoint -LiteralPath $local -Step $s -Metadata @{ loss = $s / 100 } }
        Lock-Checkpoint -LiteralPath $local -Step 10

        Copy-Checkpoint -LiteralPath $local -Destination $store
        $back = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $copied = Copy-Checkpoint -Path $store -Destination $back -PassThru

        $copied.Step | Should -Be @(10, 20)
        Get-CheckpointStep -LiteralPath $back | Should -Be @(10, 20)
        foreach ($s in 10, 20) {
            $a = Restore-Checkpoint -LiteralPath $local -Step $s
            $r = Restore-Checkpoint -Path $store -Step $s
            $b = Restore-Checkpoint -LiteralPath $back -Step $s
            Get-Bits $r.w | Should -BeExactly (Get-Bits $a.w)
            Get-Bits $b.w | Should -BeExactly (Get-Bits $a.w)
            (Get-Checkpoint -LiteralPath $back -Step $s).CreatedUtc | Should -Be (Get-Checkpoint -LiteralPath $local -Step $s).CreatedUtc
        }
        (Get-Checkpoint -Path $store -Step 10).Pinned | Should -BeTrue
        (Get-Checkpoint -LiteralPath $back -Step 10).Pinned | Should -BeTrue
        (Restore-Checkpoint -LiteralPath $back -Step 20 -MetadataOnly).loss | Should -Be 0.2
        Test-Checkpoint -LiteralPath $back -Quiet | Should -BeTrue
    }

    It 'copies between two remote locations and refuses a copy onto itself' {
        New-State 5 | Save-Checkpoint -Path $store -Step 5
        $other = "az://$(New-Container)/copy"
        Copy-Checkpoint -Path $store -Destination $other
        (Restore-Checkpoint -Path $other -Step 5).seed | Should -Be 5

        $err = $null
        Copy-Checkpoint -Path $store -Destination "$store/" -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'CopyOntoItself,DataraxCkpt.Commands.CopyCheckpointCommand'
    }

    It 'takes -LockTimeout and says with -Verbose that a remote store has no lock to wait for' {
        $verbose = New-State 1 | Save-Checkpoint -Path $store -Step 1 -LockTimeout 5 -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -Match '-LockTimeout has no effect on .*no lock to wait for'
        Get-CheckpointStep -Path $store | Should -Be @(1)
    }

    It 'completes -Step and -Item of a remote location on the command line' {
        foreach ($s in 100, 200) { New-State $s | Save-Checkpoint -Path $store -Step $s }
        $line = "Restore-Checkpoint -Path $store -Step "
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Be @('200', '100')
        $line = "Restore-Checkpoint -Path $store -Step 100 -Item "
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain "'w'"
    }
}

Describe 'Other forms of a remote location' {
    It 'reaches the same store through Azurite''s http:// URL as through az://' {
        $container = New-Container
        New-State 7 | Save-Checkpoint -Path "az://$container/p" -Step 7
        $url = "$($Azurite.BlobEndpoint)/$container/p"

        Get-CheckpointStep -Path $url | Should -Be @(7)
        (Restore-Checkpoint -LiteralPath $url -Step 7).seed | Should -Be 7
        New-State 8 | Save-Checkpoint -LiteralPath $url -Step 8
        Get-CheckpointStep -Path "az://$container/p" | Should -Be @(7, 8)
    }

    It 'works with a SAS in the URL and no connection string, and never shows the SAS' {
        $container = New-Container
        New-State 3 | Save-Checkpoint -Path "az://$container/p" -Step 3
        $sas = New-AzuriteAccountSas -Azurite $Azurite
        $url = "$($Azurite.BlobEndpoint)/$container/p?$sas"
        $signature = [uri]::UnescapeDataString(($sas -split '&' | Where-Object { $_ -like 'sig=*' }).Substring(4))
        $result = Invoke-FreshPwsh -Environment @{ AZURE_STORAGE_CONNECTION_STRING = $null; AZURE_STORAGE_ACCOUNT = $null } -Script @"
Import-Module '$ModuleManifest'
(Restore-Checkpoint -LiteralPath '$url' -Step 3).seed
@{ v = 1 } | Save-Checkpoint -LiteralPath '$url' -Step 4 -Verbose 4>&1 | ForEach-Object { "`$_" }
Get-CheckpointStep -LiteralPath '$url'
Restore-Checkpoint -LiteralPath '$url' -Step 99 -ErrorAction Continue 2>&1 | ForEach-Object { "`$(`$_.FullyQualifiedErrorId) `$(`$_.CategoryInfo) `$_" }
"@
        $text = $result.Output -join "`n"
        $result.Output | Should -Contain '3'
        $result.Output | Should -Contain '4'
        $text | Should -Match 'StepNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $text.Contains($signature) | Should -BeFalse -Because 'a SAS signature must never be echoed'
        $text.Contains([uri]::EscapeDataString($signature)) | Should -BeFalse
    }
}

Describe 'Remote errors' {
    It 'reports a SAS without the list right as AccessDenied (PermissionDenied), naming the location and the right' {
        $container = New-Container
        New-State 1 | Save-Checkpoint -Path "az://$container/p" -Step 1
        $shown = "$($Azurite.BlobEndpoint)/$container/p"
        foreach ($case in @(
                @{ Permissions = 'racwd'; Command = { param($url) Get-CheckpointStep -LiteralPath $url -ErrorVariable err -ErrorAction SilentlyContinue; $err }; Class = 'GetCheckpointStepCommand'; Right = 'the list (l) right' }
                @{ Permissions = 'acwdl'; Command = { param($url) Restore-Checkpoint -LiteralPath $url -Step 1 -ErrorVariable err -ErrorAction SilentlyContinue; $err }; Class = 'RestoreCheckpointCommand'; Right = 'the read (r) right' })) {
            $url = "$shown`?$(New-AzuriteAccountSas -Azurite $Azurite -Permissions $case.Permissions)"
            $err = @(& $case.Command $url)
            $err.Count | Should -Be 1 -Because $case.Class
            $err[0].FullyQualifiedErrorId | Should -BeExactly "AccessDenied,DataraxCkpt.Commands.$($case.Class)"
            $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
            $err[0].Exception.Message | Should -BeLike "*'$shown'*$($case.Right)*"
            "$($err[0].CategoryInfo) $($err[0])" | Should -Not -BeLike '*sig=*'
        }
        Get-CheckpointStep -Path "az://$container/p" | Should -Be @(1)
    }

    It 'reports a missing container and a missing prefix with the same error as a missing directory' {
        $missingDir = Join-Path $TestDrive 'no-such-dir'
        $local = $null
        Get-Checkpoint -LiteralPath $missingDir -ErrorVariable local -ErrorAction SilentlyContinue
        $local[0].FullyQualifiedErrorId | Should -BeExactly 'DirectoryNotFound,DataraxCkpt.Commands.GetCheckpointCommand'

        $container = New-Container
        $existing = "az://$container/present"
        New-State 1 | Save-Checkpoint -Path $existing -Step 1
        foreach ($location in "az://$(New-Container)/run", "az://$container/absent") {
            foreach ($command in 'Get-Checkpoint', 'Restore-Checkpoint', 'Test-Checkpoint', 'Get-CheckpointItem') {
                $err = $null
                & $command -Path $location -ErrorVariable err -ErrorAction SilentlyContinue
                $err.Count | Should -Be 1 -Because "$command $location"
                $commandClass = ($command -replace '-', '') + 'Command'
                $err[0].FullyQualifiedErrorId | Should -BeExactly "DirectoryNotFound,DataraxCkpt.Commands.$commandClass" -Because "$command $location"
                $err[0].CategoryInfo.Category | Should -Be $local[0].CategoryInfo.Category
                $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            }
            Test-Checkpoint -Path $location -Quiet | Should -BeFalse
            # As for a missing folder: Get-CheckpointStep answers with no step.
            Get-CheckpointStep -Path $location -ErrorAction Stop | Should -BeNullOrEmpty
        }
        Get-CheckpointStep -Path $existing | Should -Be @(1)
    }

    It 'without credentials stops with RemoteCredentialsMissing naming the variables to set (az:// and http://)' {
        $result = Invoke-FreshPwsh -Environment @{ AZURE_STORAGE_CONNECTION_STRING = $null; AZURE_STORAGE_ACCOUNT = $null } -Script @"
Import-Module '$ModuleManifest'
foreach (`$call in { Get-Checkpoint -Path az://ckpts/run-1 }, { @{ a = 1 } | Save-Checkpoint az://ckpts/run-1 }, { Copy-Checkpoint -Path . -Destination az://ckpts/run-1 }, { Get-CheckpointStep 'http://127.0.0.1:1/devstoreaccount1/ckpts/run-1' }) {
    try { & `$call -ErrorAction Stop; 'NO ERROR' }
    catch { "ERR `$(`$_.FullyQualifiedErrorId) | `$(`$_.CategoryInfo.Category) | `$(`$_.Exception.Message)" }
}
"@
        $lines = @($result.Output | Where-Object { $_ -like 'ERR *' -or $_ -eq 'NO ERROR' })
        $lines.Count | Should -Be 4 -Because ($result.Output -join "`n")
        $lines[0] | Should -BeLike 'ERR RemoteCredentialsMissing,DataraxCkpt.Commands.GetCheckpointCommand | AuthenticationError | *'
        $lines[1] | Should -BeLike 'ERR RemoteCredentialsMissing,DataraxCkpt.Commands.SaveCheckpointCommand | AuthenticationError | *'
        $lines[2] | Should -BeLike 'ERR RemoteCredentialsMissing,DataraxCkpt.Commands.CopyCheckpointCommand | AuthenticationError | *'
        $lines[3] | Should -BeLike 'ERR RemoteCredentialsMissing,DataraxCkpt.Commands.GetCheckpointStepCommand | AuthenticationError | *'
        foreach ($line in $lines[0..2]) {
            $line | Should -Match 'AZURE_STORAGE_CONNECTION_STRING'
            $line | Should -Match 'AZURE_STORAGE_ACCOUNT'
        }
        $lines[3] | Should -Match 'SAS'
        ($result.Output -join "`n") | Should -Not -Match 'DriveNotFound|ProviderNotFound|NotAFileSystemPath'
    }

    It 'never passes a remote location through the file-system provider' {
        $before = @(Get-ChildItem -LiteralPath $TestDrive -Recurse -Force).Count
        Push-Location -LiteralPath $TestDrive
        try {
            $store = "az://$(New-Container)/p"
            New-State 1 | Save-Checkpoint $store -Step 1
            Get-CheckpointStep $store | Should -Be @(1)
        }
        finally { Pop-Location }
        @(Get-ChildItem -LiteralPath $TestDrive -Recurse -Force).Count | Should -Be $before -Because 'nothing named az: may appear under the current folder'
        Test-Path -LiteralPath (Join-Path $TestDrive 'az:') | Should -BeFalse
    }
}
