# The issue's "Done when" scenario and every handler snippet of checkpointing-guide.md, in PowerShell.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'The Done-when scenario of issue 2' {
    BeforeAll {
        # A PowerShell drive as the location: ./ck must resolve through the provider, not the process.
        Push-Location TestDrive:
        @{ w = [float[,]]::new(10, 10); position = 42; epoch = 5 } |
            Save-Checkpoint ./ck -Step 100 -Keep 5 -Metadata @{ description = 'Training checkpoint' }
        $restored = Restore-Checkpoint ./ck
    }

    AfterAll {
        Pop-Location
    }

    It 'restores a Hashtable' {
        $restored | Should -BeOfType [hashtable]
    }

    It 'restores w as a 10x10 float[,]' {
        $restored.w.GetType() | Should -Be ([float[,]])
        $restored.w.GetLength(0) | Should -Be 10
        $restored.w.GetLength(1) | Should -Be 10
    }

    It 'restores position as the Int32 42 and epoch as 5' {
        $restored.position | Should -BeOfType [int]
        $restored.position | Should -Be 42
        $restored.epoch | Should -Be 5
    }

    It 'reports 100 as the latest step' {
        Get-CheckpointStep ./ck -Latest | Should -Be 100
    }

    It 'shows step 100 with its metadata' {
        $info = Get-Checkpoint ./ck
        @($info).Count | Should -Be 1
        $info.Step | Should -Be 100
        $info.Metadata['description'] | Should -Be 'Training checkpoint'
    }
}

Describe 'The guide: saving checkpoints' {
    It 'saves a state with step, keep, no overwrite and metadata, like handler.save(...)' {
        $dir = Join-Path $TestDrive 'save'
        $state = @{ model_weights = [double[,]]::new(10, 10); position = 42; epoch = 5 }
        $saved = Save-Checkpoint -Path $dir -InputObject $state -Step 100 -Keep 5 -Metadata @{ description = 'Training checkpoint' } -PassThru
        $saved.Step | Should -Be 100
        $saved.Metadata['description'] | Should -Be 'Training checkpoint'
        (Restore-Checkpoint $dir -MetadataOnly)['description'] | Should -Be 'Training checkpoint'
    }

    It 'keeps metadata apart from the state' {
        $dir = Join-Path $TestDrive 'meta-apart'
        @{ a = 1 } | Save-Checkpoint $dir -Metadata @{ a = 'meta' }
        $state = Restore-Checkpoint $dir
        $state.Keys | Should -Be @('a')
        $state.a | Should -Be 1
    }
}

Describe 'The guide: restoring checkpoints' {
    BeforeAll {
        $dir = Join-Path $TestDrive 'restore'
        foreach ($step in 10, 50, 90) { @{ step = $step } | Save-Checkpoint $dir -Step $step }
    }

    It 'restores the latest checkpoint' {
        (Restore-Checkpoint $dir).step | Should -Be 90
    }

    It 'restores a specific step' {
        (Restore-Checkpoint $dir -Step 50).step | Should -Be 50
    }

    It 'lists the available steps ascending' {
        Get-CheckpointStep $dir | Should -Be @(10, 50, 90)
    }

    It 'gives the latest step number' {
        Get-CheckpointStep $dir -Latest | Should -Be 90
    }
}

Describe 'The guide: multiple checkpoints with keep' {
    It 'keeps only the last 5 of 10 saves and lists them' {
        $dir = Join-Path $TestDrive 'multi'
        foreach ($step in 0..99) {
            if ($step % 10 -eq 0) { @{ step = $step } | Save-Checkpoint $dir -Step $step -Keep 5 }
        }
        $checkpoints = Get-Checkpoint $dir
        $checkpoints.Step | Should -Be @(50, 60, 70, 80, 90)
        $checkpoints | ForEach-Object { $_.Directory | Should -Be $dir }
    }
}

Describe 'The guide: overwriting checkpoints' {
    It 'replaces step 1 with -Overwrite' {
        $dir = Join-Path $TestDrive 'overwrite'
        @{ v = 1 } | Save-Checkpoint $dir -Step 1
        @{ v = 2 } | Save-Checkpoint $dir -Step 1 -Overwrite
        (Restore-Checkpoint $dir -Step 1).v | Should -Be 2
        Get-CheckpointStep $dir | Should -Be @(1)
    }
}

Describe 'The guide: error handling' {
    BeforeAll {
        function Restore-IfAny([string] $Directory) {
            # The guide's flow: check the directory, then the steps, then restore.
            if (Test-Path -LiteralPath $Directory) {
                $steps = Get-CheckpointStep -LiteralPath $Directory
                if ($steps) {
                    $null = Restore-Checkpoint -LiteralPath $Directory
                    "Restored from step $(Get-CheckpointStep -LiteralPath $Directory -Latest)"
                }
                else { 'No checkpoints found' }
            }
            else { "Checkpoint directory doesn't exist" }
        }
    }

    It 'says the directory does not exist' {
        Restore-IfAny (Join-Path $TestDrive 'missing') | Should -Be "Checkpoint directory doesn't exist"
    }

    It 'says no checkpoints were found in an empty directory' {
        $empty = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'empty')
        Restore-IfAny $empty.FullName | Should -Be 'No checkpoints found'
    }

    It 'restores from the latest step when there is one' {
        $dir = Join-Path $TestDrive 'some'
        @{ x = 1 } | Save-Checkpoint $dir -Step 7
        Restore-IfAny $dir | Should -Be 'Restored from step 7'
    }

    It 'yields no step for a missing directory instead of failing' {
        Get-CheckpointStep (Join-Path $TestDrive 'missing') -ErrorAction Stop | Should -BeNullOrEmpty
        Get-CheckpointStep (Join-Path $TestDrive 'missing') -Latest -ErrorAction Stop | Should -BeNullOrEmpty
    }
}

Describe 'The guide: PRNG keys' {
    It 'makes JAX keys with New-PrngKey that restore as keys and key arrays' {
        $dir = Join-Path $TestDrive 'newkeys'
        @{ rng_key = New-PrngKey 42; split_keys = New-PrngKey 0 -Split 4; epoch_key = New-PrngKey 0 -FoldIn 1 } | Save-Checkpoint $dir -Step 1
        $restored = Restore-Checkpoint $dir
        $restored.rng_key.GetType().FullName | Should -Be 'DataraxCkpt.PrngKey'
        $restored.rng_key.Impl | Should -Be 'threefry2x32'
        $restored.rng_key.KeyData | Should -Be @(0, 42)
        $restored.split_keys.GetType().FullName | Should -Be 'DataraxCkpt.PrngKey[]'
        $restored.split_keys.Count | Should -Be 4
        # jax.random.split(key(0))[0] under the partitionable default, and fold_in(key(0), 1) from JAX's doctests.
        $restored.split_keys[0].KeyData | Should -Be @(1797259609, 2579123966)
        $restored.epoch_key.KeyData | Should -Be @(928981903, 3453687069)
    }

    It 'restores keys as keys' {
        $dir = Join-Path $TestDrive 'keys'
        @{ seed = 1 } | Save-Checkpoint $dir -Step 0
        $keyType = Get-EngineType 'DataraxCkpt.PrngKey'
        $key = $keyType::Create(42)
        @{ rng_key = $key; split_keys = $keyType::Create(0).Split(4) } | Save-Checkpoint $dir -Step 1
        $restored = Restore-Checkpoint $dir
        $restored.rng_key.GetType().FullName | Should -Be 'DataraxCkpt.PrngKey'
        $restored.rng_key.Equals($key) | Should -BeTrue
        $restored.rng_key.KeyData | Should -Be @(0, 42)
        @($restored.split_keys).Count | Should -Be 4
    }
}
