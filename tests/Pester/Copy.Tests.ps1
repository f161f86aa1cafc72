# Copy-Checkpoint: verified copies committed on the destination like saves (issue 11, item 8).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function New-Source([string] $Dir) {
        $w = [float[]]::new(200000)
        for ($i = 0; $i -lt $w.Length; $i++) { $w[$i] = [math]::Sin($i) }
        $w[7] = [BitConverter]::Int32BitsToSingle(0x7FC01234)   # a NaN with a payload
        $w[8] = -0.0
        foreach ($step in 10, 20, 30) {
            [ordered]@{ w = $w; step = $step; name = "run $step" } | Save-Checkpoint -LiteralPath $Dir -Step $step -Metadata @{ loss = $step / 100 }
        }
    }

    function Get-Bits([float[]] $Floats) {
        # The raw bytes of the array, so NaN payloads and -0.0 count.
        $raw = [byte[]]::new($Floats.Length * 4)
        [Buffer]::BlockCopy($Floats, 0, $raw, 0, $raw.Length)
        [Convert]::ToBase64String($raw)
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Copy-Checkpoint' {
    BeforeEach {
        $from = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $to = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Source $from
    }

    It 'copies the chosen steps bit-exact with their metadata and creation time' {
        Copy-Checkpoint -LiteralPath $from -Destination $to -Step 10, 30

        Get-CheckpointStep -LiteralPath $to | Should -Be @(10, 30)
        foreach ($step in 10, 30) {
            $a = Restore-Checkpoint -LiteralPath $from -Step $step
            $b = Restore-Checkpoint -LiteralPath $to -Step $step
            Get-Bits $b.w | Should -BeExactly (Get-Bits $a.w)
            $b.name | Should -Be "run $step"
            (Get-Checkpoint -LiteralPath $to | Where-Object Step -eq $step).CreatedUtc |
                Should -Be (Get-Checkpoint -LiteralPath $from | Where-Object Step -eq $step).CreatedUtc
        }
        (Restore-Checkpoint -LiteralPath $to -Step 30 -MetadataOnly).loss | Should -Be 0.3
        (Test-Checkpoint -LiteralPath $to | Where-Object { -not $_.Ok }) | Should -BeNullOrEmpty
    }

    It 'copies every step when -Step is omitted, and the records piped from Get-Checkpoint' {
        Copy-Checkpoint -LiteralPath $from -Destination $to
        Get-CheckpointStep -LiteralPath $to | Should -Be @(10, 20, 30)

        $other = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $copied = Get-Checkpoint -LiteralPath $from | Where-Object Step -ge 20 | Copy-Checkpoint -Destination $other -PassThru
        $copied.Step | Should -Be @(20, 30)
        $copied[0] | Should -BeOfType ([DataraxCkpt.CheckpointInfo])
        $copied[0].Directory | Should -Be $other
        Get-CheckpointStep -LiteralPath $other | Should -Be @(20, 30)
    }

    It 'keeps pins, and drops them with -NoPin' {
        Lock-Checkpoint -LiteralPath $from -Step 20
        Copy-Checkpoint -LiteralPath $from -Destination $to -Step 10, 20
        $pinned = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Copy-Checkpoint -LiteralPath $from -Destination $pinned -Step 20 -NoPin

        (Get-Checkpoint -LiteralPath $to | Where-Object Step -eq 20).Pinned | Should -BeTrue
        (Get-Checkpoint -LiteralPath $to | Where-Object Step -eq 10).Pinned | Should -BeFalse
        (Get-Checkpoint -LiteralPath $pinned).Pinned | Should -BeFalse
    }

    It 'refuses a step that exists at the destination with StepExists, and replaces it with -Overwrite' {
        @{ step = 'other' } | Save-Checkpoint -LiteralPath $to -Step 20

        Copy-Checkpoint -LiteralPath $from -Destination $to -Step 20 -ErrorVariable err -ErrorAction SilentlyContinue

        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'StepExists,DataraxCkpt.Commands.CopyCheckpointCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        (Restore-Checkpoint -LiteralPath $to -Step 20).step | Should -Be 'other'

        Copy-Checkpoint -LiteralPath $from -Destination $to -Step 20 -Overwrite
        (Restore-Checkpoint -LiteralPath $to -Step 20).step | Should -Be 20
    }

    It 'writes nothing under -WhatIf' {
        Copy-Checkpoint -LiteralPath $from -Destination $to -WhatIf
        $to | Should -Not -Exist
    }

    It 'refuses a corrupted source step, commits nothing for it, and copies the others' {
        $data = Join-Path $from '20/tensors.lz4'
        $bytes = [IO.File]::ReadAllBytes($data)
        $bytes[[int]($bytes.Length / 2)] = $bytes[[int]($bytes.Length / 2)] -bxor 0x5A
        [IO.File]::WriteAllBytes($data, $bytes)

        Copy-Checkpoint -LiteralPath $from -Destination $to -ErrorVariable err -ErrorAction SilentlyContinue

        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'CorruptCheckpoint,DataraxCkpt.Commands.CopyCheckpointCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        Get-CheckpointStep -LiteralPath $to | Should -Be @(10, 30)
        Join-Path $to '20' | Should -Not -Exist
        @(Get-ChildItem -LiteralPath (Join-Path $to '.staging') -ErrorAction Ignore) | Should -BeNullOrEmpty
    }

    It 'names a missing source directory or step, and refuses to copy a directory onto itself' {
        Copy-Checkpoint -LiteralPath (Join-Path $TestDrive 'typo') -Destination $to -ErrorVariable e1 -ErrorAction SilentlyContinue
        $e1[0].FullyQualifiedErrorId | Should -Be 'DirectoryNotFound,DataraxCkpt.Commands.CopyCheckpointCommand'
        Copy-Checkpoint -LiteralPath $from -Destination $to -Step 99 -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e2[0].FullyQualifiedErrorId | Should -Be 'StepNotFound,DataraxCkpt.Commands.CopyCheckpointCommand'
        Copy-Checkpoint -LiteralPath $from -Destination $from -ErrorVariable e3 -ErrorAction SilentlyContinue
        $e3[0].FullyQualifiedErrorId | Should -Be 'CopyOntoItself,DataraxCkpt.Commands.CopyCheckpointCommand'
        $e3[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'refuses a link to the source, and a source inside the destination, as CopyOntoItself, leaving the source whole' {
        if ($IsWindows) { Set-ItResult -Skipped -Because 'creating a directory symbolic link needs a privilege on Windows'; return }
        $link = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType SymbolicLink -Path $link -Target $from
        Copy-Checkpoint -LiteralPath $from -Destination $link -Overwrite -ErrorVariable e1 -ErrorAction SilentlyContinue
        $e1[0].FullyQualifiedErrorId | Should -Be 'CopyOntoItself,DataraxCkpt.Commands.CopyCheckpointCommand'
        $e1[0].CategoryInfo.Category | Should -Be 'InvalidArgument'

        # The source is the destination's folder "10": copying its step 10 would replace the whole source.
        $inner = Join-Path $to '10'
        Copy-Checkpoint -LiteralPath $from -Destination $inner -Step 10, 20
        Copy-Checkpoint -LiteralPath $inner -Destination $to -Step 10 -Overwrite -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e2[0].FullyQualifiedErrorId | Should -Be 'CopyOntoItself,DataraxCkpt.Commands.CopyCheckpointCommand'
        Get-CheckpointStep -LiteralPath $inner | Should -Be @(10, 20)
    }

    It 'shows "step i of n" progress while copying several steps, completed at the end' {
        $run = Invoke-WithProgress { param($f, $t) Copy-Checkpoint -LiteralPath $f -Destination $t } @($from, $to)
        $steps = @($run.Progress | Where-Object Activity -like 'Copy checkpoint: step*')
        $steps[0].Activity | Should -Be 'Copy checkpoint: step 1 of 3'
        $steps.Activity | Should -Contain 'Copy checkpoint: step 3 of 3'
        $steps[-1].RecordType | Should -Be 'Completed'
    }
}
