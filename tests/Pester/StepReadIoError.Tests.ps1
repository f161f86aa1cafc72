# A read of a step's files that the disk fails (EIO on manifest.json.lz4 or tensors.lz4) is IOError with the category
# ReadError and the errno in $_.Exception.Data['DataraxCkpt.SystemErrno'], as a failed read of index.sqlite is, for every
# cmdlet that reads step files: Restore-Checkpoint, Test-Checkpoint and the read side of Copy-Checkpoint. Until session
# 21 it was WriteError, and Test-Checkpoint's EIO on a data file escaped as a terminating AggregateException
# (NotSpecified). The EIO is real: strace fails every pread64 of step 1's manifest and step 2's data file in a fresh pwsh.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
    $script:Strace = (Get-Command strace -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'A read of a step file the disk fails' {
    It 'is IOError / ReadError with errno 5 for Restore-, Test- and Copy-Checkpoint, on the manifest and on the data file' -Skip:(-not $IsLinux) {
        if (-not $Strace) { Set-ItResult -Skipped -Because 'strace is not installed (apt-get install strace)'; return }
        $dir = Join-Path $TestDrive 'ck'
        foreach ($step in 1, 2, 3) { @{ s = $step; w = [float[]](1..64 | ForEach-Object { $_ * $step }) } | Save-Checkpoint $dir -Step $step }
        $manifest = Join-Path $dir '1' 'manifest.json.lz4'
        $data = Join-Path $dir '2' 'tensors.lz4'
        $script = @"
`$ErrorActionPreference = 'Continue'
Import-Module '$ModuleManifest'
function Show(`$name, `$e) { "`$name=`$(`$e.Count)|`$(`$e[0].FullyQualifiedErrorId)|`$(`$e[0].CategoryInfo.Category)|`$(`$e[0].Exception.Data['DataraxCkpt.SystemErrno'])|`$(`$e[0].Exception.Message)" }
Restore-Checkpoint -LiteralPath '$dir' -Step 1 -ErrorVariable r1 -ErrorAction SilentlyContinue | Out-Null; Show RESTOREMANIFEST `$r1
Restore-Checkpoint -LiteralPath '$dir' -Step 2 -ErrorVariable r2 -ErrorAction SilentlyContinue | Out-Null; Show RESTOREDATA `$r2
`$tested = Test-Checkpoint -LiteralPath '$dir' -ErrorVariable t -ErrorAction SilentlyContinue
Show TESTMANIFEST @(`$t | Where-Object { "`$(`$_.Exception.Message)" -like '*manifest.json.lz4*' })
Show TESTDATA @(`$t | Where-Object { "`$(`$_.Exception.Message)" -like '*tensors.lz4*' })
"TESTED=`$(@(`$tested | ForEach-Object { "`$(`$_.Step):`$(`$_.Ok)" }) -join ',')"
Copy-Checkpoint -LiteralPath '$dir' -Destination '$(Join-Path $TestDrive 'c1')' -Step 1 -ErrorVariable c1 -ErrorAction SilentlyContinue | Out-Null; Show COPYMANIFEST `$c1
Copy-Checkpoint -LiteralPath '$dir' -Destination '$(Join-Path $TestDrive 'c2')' -Step 2 -ErrorVariable c2 -ErrorAction SilentlyContinue | Out-Null; Show COPYDATA `$c2
"@
        $scriptFile = Join-Path $TestDrive 'read.ps1'
        Set-Content -LiteralPath $scriptFile -Value $script
        $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $output = & $Strace -f -qq -o /dev/null -e trace=pread64 -e 'inject=pread64:error=EIO:when=1+' -P $manifest -P $data -- `
            ([Environment]::ProcessPath) @pwshArgs -NoProfile -NonInteractive -File $scriptFile 2>&1 | ForEach-Object { "$_" }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        $lines = @{}
        foreach ($line in $output) { if ($line -match '^([A-Z]+)=(.*)$') { $lines[$Matches[1]] = $Matches[2] } }

        foreach ($case in @(
                @{ Key = 'RESTOREMANIFEST'; Command = 'RestoreCheckpointCommand'; File = $manifest }
                @{ Key = 'RESTOREDATA'; Command = 'RestoreCheckpointCommand'; File = $data }
                @{ Key = 'TESTMANIFEST'; Command = 'TestCheckpointCommand'; File = $manifest }
                @{ Key = 'TESTDATA'; Command = 'TestCheckpointCommand'; File = $data }
                @{ Key = 'COPYMANIFEST'; Command = 'CopyCheckpointCommand'; File = $manifest }
                @{ Key = 'COPYDATA'; Command = 'CopyCheckpointCommand'; File = $data })) {
            $count, $id, $category, $errno, $message = "$($lines[$case.Key])".Split('|', 5)
            $because = "$($case.Key): $($output -join "`n")"
            $count | Should -BeExactly '1' -Because $because
            $id | Should -BeExactly "IOError,DataraxCkpt.Commands.$($case.Command)" -Because $because
            $category | Should -BeExactly 'ReadError' -Because $because
            $errno | Should -BeExactly '5' -Because $because
            $message | Should -Match ([regex]::Escape($case.File)) -Because $because
            $message | Should -Match 'check the disk' -Because $because
        }

        # Test-Checkpoint goes on past both failed steps: the readable step 3 is reported valid.
        $lines.TESTED | Should -BeExactly '3:True'
    }
}
