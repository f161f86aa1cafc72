# Restore-Checkpoint -Into: stored arrays decoded into the arrays a state already holds; shapes checked first.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Restore-Checkpoint -Into' {
    BeforeEach {
        $script:dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $w = [float[,]]::new(2, 3)
        $w[1, 2] = 6.5
        $saved = @{
            w = $w
            b = [double[]](1, 2, 3)
            epoch = 7
            name = 'after'
            opt = [pscustomobject]@{ lr = 0.5; m = [float[]](4, 5) }
        }
        Save-Checkpoint -LiteralPath $dir -InputObject $saved -Step 1 -ErrorAction Stop
    }

    It 'fills the state''s own arrays in place and replaces plain values in their containers' {
        $state = @{ w = [float[,]]::new(2, 3); b = [double[]]::new(3); epoch = 0; name = 'before'; opt = [pscustomobject]@{ lr = 0.0; m = [float[]]::new(2) } }
        $w = $state.w; $b = $state.b; $opt = $state.opt; $m = $state.opt.m

        $out = Restore-Checkpoint -LiteralPath $dir -Into $state -ErrorAction Stop

        [object]::ReferenceEquals($out, $state) | Should -BeTrue
        [object]::ReferenceEquals($state.w, $w) | Should -BeTrue
        [object]::ReferenceEquals($state.b, $b) | Should -BeTrue
        [object]::ReferenceEquals($state.opt, $opt) | Should -BeTrue
        [object]::ReferenceEquals($state.opt.m, $m) | Should -BeTrue
        $w[1, 2] | Should -Be 6.5
        $b | Should -Be @(1, 2, 3)
        $m | Should -Be @(4, 5)
        $state.epoch | Should -Be 7
        $state.name | Should -BeExactly 'after'
        $state.opt.lr | Should -Be 0.5
    }

    It 'refuses a state with an array of another shape as IncompatibleState and writes nothing' {
        $state = @{ w = [float[,]]::new(3, 2); b = [double[]](9, 9, 9); epoch = 0; name = 'before'; opt = [pscustomobject]@{ lr = 0.0; m = [float[]]::new(2) } }

        $out = Restore-Checkpoint -LiteralPath $dir -Into $state -ErrorVariable errors -ErrorAction SilentlyContinue

        $out | Should -BeNullOrEmpty
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'IncompatibleState,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errors[0].Exception.Item | Should -BeExactly 'w'
        $errors[0].Exception.Expected | Should -BeExactly 'a f32 tensor of shape [2, 3]'
        $errors[0].Exception.Found | Should -BeExactly 'a Single[,] of shape [3, 2]'
        $state.b | Should -Be @(9, 9, 9)
        $state.epoch | Should -Be 0
        $state.name | Should -BeExactly 'before'
    }

    It 'adds items the state lacks and keeps items the step lacks' {
        $b = [double[]]::new(3)
        $state = @{ b = $b; mine = 'kept' }

        Restore-Checkpoint -LiteralPath $dir -Into $state -ErrorAction Stop | Out-Null

        [object]::ReferenceEquals($state.b, $b) | Should -BeTrue
        $b | Should -Be @(1, 2, 3)
        $state.mine | Should -BeExactly 'kept'
        $state.epoch | Should -Be 7
        $state.w.GetType() | Should -Be ([float[,]])
        $state.opt.m | Should -Be @(4, 5)
    }

    It 'adds a missing object as a PSCustomObject and a missing list as PowerShell values, into a state needing no conversion' {
        $b = [double[]]::new(3)
        $state = @{ b = $b }
        Save-Checkpoint -LiteralPath $dir -InputObject @{ b = [double[]](1, 2, 3); opt = [pscustomobject]@{ lr = 0.5 }; tags = [System.Collections.Generic.List[object]]::new([object[]]('x', [pscustomobject]@{ k = 1 })) } -Step 2 -ErrorAction Stop

        Restore-Checkpoint -LiteralPath $dir -Into $state -ErrorAction Stop | Out-Null

        [object]::ReferenceEquals($state.b, $b) | Should -BeTrue
        $state.opt.PSObject.BaseObject.GetType().FullName | Should -BeExactly 'System.Management.Automation.PSCustomObject'
        $state.opt.lr | Should -Be 0.5
        $state.tags[1].PSObject.BaseObject.GetType().FullName | Should -BeExactly 'System.Management.Automation.PSCustomObject'
        ($state | ConvertTo-Json -Compress -Depth 5) | Should -Match '"lr":0.5'
    }

    It 'restores into a nested plain hashtable and array (the kind Save hands over without a copy) through copies, so no engine value reaches them' {
        # Save passes a small Hashtable/object[] of plain values to the engine as it is; -Into must not: the engine
        # adds raw engine values (a StateObject) to the containers it is given.
        $cfg = @{ lr = 0.0 }
        $pair = @(0, 'a')
        $state = @{ cfg = $cfg; pair = $pair }
        Save-Checkpoint -LiteralPath $dir -InputObject @{ cfg = @{ lr = 0.5; opt = [pscustomobject]@{ k = 1 }; tags = [System.Collections.Generic.List[object]]::new([object[]]('x')) }; pair = @(1, 'b') } -Step 3 -ErrorAction Stop

        Restore-Checkpoint -LiteralPath $dir -Step 3 -Into $state -ErrorAction Stop | Out-Null

        [object]::ReferenceEquals($state.cfg, $cfg) | Should -BeTrue
        [object]::ReferenceEquals($state.pair, $pair) | Should -BeTrue
        $cfg.lr | Should -Be 0.5
        $cfg.opt.PSObject.BaseObject.GetType().FullName | Should -BeExactly 'System.Management.Automation.PSCustomObject'
        $cfg.opt.k | Should -Be 1
        $cfg.tags | Should -BeExactly @('x')
        $pair[0] | Should -Be 1
        $pair[1] | Should -BeExactly 'b'
    }

    It 'leaves the containers unchanged when a chunk is damaged mid-restore' {
        $data = Get-ChildItem -LiteralPath $dir -Recurse -Filter 'tensors.lz4' | Select-Object -First 1
        $bytes = [IO.File]::ReadAllBytes($data.FullName)
        $bytes[$bytes.Length - 12] = $bytes[$bytes.Length - 12] -bxor 0xFF
        [IO.File]::WriteAllBytes($data.FullName, $bytes)
        $state = @{ w = [float[,]]::new(2, 3); b = [double[]]::new(3); epoch = 0; name = 'before'; opt = [pscustomobject]@{ lr = 0.0; m = [float[]]::new(2) } }

        Restore-Checkpoint -LiteralPath $dir -Into $state -ErrorVariable errors -ErrorAction SilentlyContinue | Out-Null

        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'CorruptCheckpoint,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $state.epoch | Should -Be 0
        $state.name | Should -BeExactly 'before'
        $state.opt.lr | Should -Be 0.0
    }

    It 'refuses -Into with -Item, and a value that is not a state' {
        { Restore-Checkpoint -LiteralPath $dir -Into @{} -Item 'w' -ErrorAction Stop } |
            Should -Throw -ErrorId 'IntoWithItemOrMetadata,DataraxCkpt.Commands.RestoreCheckpointCommand'
        { Restore-Checkpoint -LiteralPath $dir -Into 42 -ErrorAction Stop } |
            Should -Throw -ErrorId 'IntoNotAState,DataraxCkpt.Commands.RestoreCheckpointCommand'
    }

    It 'refuses a bare array or a typed list as -Into with IntoNotAState (they are no state container)' {
        { Restore-Checkpoint -LiteralPath $dir -Into ([float[]]::new(2)) -ErrorAction Stop } |
            Should -Throw -ErrorId 'IntoNotAState,DataraxCkpt.Commands.RestoreCheckpointCommand'
        $typed = [System.Collections.Generic.List[float[]]]::new()
        $typed.Add([float[]]::new(2))
        { Restore-Checkpoint -LiteralPath $dir -Into $typed -ErrorAction Stop } |
            Should -Throw -ErrorId 'IntoNotAState,DataraxCkpt.Commands.RestoreCheckpointCommand'
    }
}
