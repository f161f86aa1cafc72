# Scenario (e)'s crash-safe JSON save (bench/CrashSafeJson.ps1): the durable write that Save-Checkpoint is compared with
# beside ConvertTo-Json | Set-Content, which flushes nothing. A baseline that skipped a flush would flatter itself, so
# the system calls are checked, not only the file.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    $script:Strace = (Get-Command strace -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source

    # The save's system calls, as strace -f writes them, in the order a crash-safe save needs them.
    function Assert-CrashSafeTrace([string[]] $Lines, [string] $Path, [string] $Folder) {
        # One thread runs the save; its calls in order, each with the descriptor it returned or used.
        $calls = [Collections.Generic.List[object]]::new()
        foreach ($line in $Lines) {
            if ($line -match '^\d+\s+open(?:at)?\((?:AT_FDCWD, )?"([^"]+)".*\)\s+=\s+(\d+)$') { $calls.Add([pscustomobject]@{ Call = 'open'; Path = $Matches[1]; Fd = $Matches[2] }) }
            elseif ($line -match '^\d+\s+f(?:data)?sync\((\d+)\)\s+=\s+0$') { $calls.Add([pscustomobject]@{ Call = 'fsync'; Path = $null; Fd = $Matches[1] }) }
            elseif ($line -match '^\d+\s+close\((\d+)\)\s+=\s+0$') { $calls.Add([pscustomobject]@{ Call = 'close'; Path = $null; Fd = $Matches[1] }) }
            elseif ($line -match '^\d+\s+rename(?:at2?)?\((?:AT_FDCWD, )?"([^"]+)", (?:AT_FDCWD, )?"([^"]+)".*\)\s+=\s+0$') { $calls.Add([pscustomobject]@{ Call = 'rename'; Path = $Matches[2]; Fd = $Matches[1] }) }
        }
        $openTemp = [Linq.Enumerable]::LastOrDefault([object[]]@($calls | Where-Object { $_.Call -eq 'open' -and $_.Path -eq "$Path.tmp" }))
        $openTemp | Should -Not -BeNullOrEmpty -Because 'the temporary file is opened to be flushed'
        $at = $calls.IndexOf($openTemp)
        # The flush on the file's descriptor while it is still the file's: a descriptor closed (or handed out again by an
        # open) before the fsync is another file's by then, the directory's in a save that never flushes the file.
        $reused = $calls.FindIndex($at + 1, [Predicate[object]] { param($c) $c.Call -in 'open', 'close' -and $c.Fd -eq $openTemp.Fd })
        $fileSync = $calls.FindIndex($at, [Predicate[object]] { param($c) $c.Call -eq 'fsync' -and $c.Fd -eq $openTemp.Fd })
        if ($reused -ge 0 -and $reused -lt $fileSync) { $fileSync = -1 }
        $fileSync | Should -BeGreaterThan $at -Because 'the temporary file is flushed to the disk'
        $rename = $calls.FindIndex($fileSync, [Predicate[object]] { param($c) $c.Call -eq 'rename' -and $c.Fd -eq "$Path.tmp" -and $c.Path -eq $Path })
        $rename | Should -BeGreaterThan $fileSync -Because 'the flushed file is renamed over the old one'
        $openFolder = $calls.FindIndex($rename, [Predicate[object]] { param($c) $c.Call -eq 'open' -and $c.Path -eq $Folder })
        $openFolder | Should -BeGreaterThan $rename
        $folderFd = $calls[$openFolder].Fd
        $folderSync = $calls.FindIndex($openFolder, [Predicate[object]] { param($c) $c.Call -eq 'fsync' -and $c.Fd -eq $folderFd })
        $folderReused = $calls.FindIndex($openFolder + 1, [Predicate[object]] { param($c) $c.Call -in 'open', 'close' -and $c.Fd -eq $folderFd })
        if ($folderReused -ge 0 -and $folderReused -lt $folderSync) { $folderSync = -1 }
        $folderSync | Should -BeGreaterThan $openFolder -Because 'the rename is made durable by flushing the directory'
    }
}

Describe 'bench/CrashSafeJson.ps1' {
    It 'replaces the JSON file with the new state and leaves no temporary file' {
        . (Join-Path $RepoRoot 'bench/CrashSafeJson.ps1')
        $path = Join-Path $TestDrive 'state.json'
        Set-Content -LiteralPath $path -Value '{"old": true}'
        Save-JsonCrashSafe @{ Name = 'layer1'; Tags = @('conv', 'trainable'); Lr = 0.5 } $path
        $back = Get-Content -Raw -LiteralPath $path | ConvertFrom-Json -AsHashtable
        $back.Name | Should -BeExactly 'layer1'
        $back.Tags | Should -Be @('conv', 'trainable')
        $back.Lr | Should -Be 0.5
        $back.ContainsKey('old') | Should -BeFalse
        @(Get-ChildItem -LiteralPath $TestDrive -Name) | Should -Be @('state.json')
    }

    It 'flushes the temporary file, then renames it over the old one, then flushes the directory' -Skip:(-not $IsLinux) {
        if (-not $Strace) { Set-ItResult -Skipped -Because 'strace is not installed (apt-get install strace)'; return }
        $folder = Join-Path $TestDrive 'traced'
        $null = New-Item -ItemType Directory -Path $folder
        $path = Join-Path $folder 'state.json'
        $scriptFile = Join-Path $TestDrive 'save.ps1'
        Set-Content -LiteralPath $scriptFile -Value ". '$(Join-Path $RepoRoot 'bench/CrashSafeJson.ps1')'`nSave-JsonCrashSafe @{ a = 1 } '$path'"
        $log = Join-Path $TestDrive 'trace.txt'
        $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $output = & $Strace -f -qq -o $log -e trace=openat,open,close,fsync,fdatasync,rename,renameat,renameat2 -- `
            ([Environment]::ProcessPath) @pwshArgs -NoProfile -NonInteractive -File $scriptFile 2>&1 | ForEach-Object { "$_" }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")

        Assert-CrashSafeTrace (Get-Content -LiteralPath $log) $path $folder
    }

    It 'Attack28 refuses a trace whose file flush is on a descriptor closed and reused by the directory (the file never flushed)' {
        # The temporary file opened and closed unflushed; its descriptor number reused for the directory, which is flushed
        # before and after the rename: nothing of the file's data is durable, yet every fsync is on "its" descriptor.
        $lines = @(
            '100 openat(AT_FDCWD, "/d/state.json.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 5'
            '100 close(5) = 0'
            '100 openat(AT_FDCWD, "/d/state.json.tmp", O_RDWR|O_CLOEXEC) = 5'
            '100 close(5) = 0'
            '100 openat(AT_FDCWD, "/d", O_RDONLY) = 5'
            '100 fsync(5) = 0'
            '100 close(5) = 0'
            '100 rename("/d/state.json.tmp", "/d/state.json") = 0'
            '100 openat(AT_FDCWD, "/d", O_RDONLY) = 5'
            '100 fsync(5) = 0'
            '100 close(5) = 0'
        )
        { Assert-CrashSafeTrace $lines '/d/state.json' '/d' } | Should -Throw -ExpectedMessage '*temporary file is flushed*'
    }

    It 'Attack28 accepts the trace of a crash-safe save whose descriptors are reused after each is closed' {
        $lines = @(
            '100 openat(AT_FDCWD, "/d/state.json.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 5'
            '100 close(5) = 0'
            '100 openat(AT_FDCWD, "/d/state.json.tmp", O_RDWR|O_CLOEXEC) = 5'
            '100 fsync(5) = 0'
            '100 close(5) = 0'
            '100 rename("/d/state.json.tmp", "/d/state.json") = 0'
            '100 openat(AT_FDCWD, "/d", O_RDONLY) = 5'
            '100 fsync(5) = 0'
            '100 close(5) = 0'
        )
        { Assert-CrashSafeTrace $lines '/d/state.json' '/d' } | Should -Not -Throw
    }
}
