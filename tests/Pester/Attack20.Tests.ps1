# Attack 20 (session 20): cmdlet-level attacks on metadata, Copy-Checkpoint, pipelines and -WhatIf.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Attack 20: metadata read from a record' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a20-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'A_PSCustomObject_in_metadata_reads_as_an_object_from_Get-Checkpoint_as_from_Restore-Checkpoint_-MetadataOnly' {
        # docs/cmdlets.md "What comes back": a restored state (and -Metadata) has the types it was saved with.
        # Restore-Checkpoint -MetadataOnly gives the PSCustomObject back; the record's Metadata (Get-Checkpoint,
        # Save-Checkpoint -PassThru) gave the engine's DataraxCkpt.StateObject, on which .lr is $null, so a
        # filter such as Where-Object { $_.Metadata.cfg.lr -lt 0.2 } silently selected nothing.
        $saved = @{ x = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 1 -Metadata @{ cfg = [pscustomobject]@{ lr = 0.1 } } -PassThru
        (Restore-Checkpoint -LiteralPath $script:dir -Step 1 -MetadataOnly).cfg.lr | Should -Be 0.1
        (Get-Checkpoint -LiteralPath $script:dir -Step 1).Metadata.cfg.lr | Should -Be 0.1
        $saved.Metadata.cfg.lr | Should -Be 0.1
        @(Get-Checkpoint -LiteralPath $script:dir | Where-Object { $_.Metadata.cfg.lr -lt 0.2 }).Count | Should -Be 1
    }

    It 'PSCustomObjects nested in metadata (in a hashtable, in an array, one under two names) read as objects from every record: Save -PassThru, Get-Checkpoint, Copy -PassThru' {
        $shared = [pscustomobject]@{ name = 'shared' }
        $meta = @{ run = @{ opt = [pscustomobject]@{ lr = 0.5 } }; list = @([pscustomobject]@{ n = 1 }, [pscustomobject]@{ n = 2 }); a = $shared; b = $shared }
        $saved = @{ x = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 3 -Metadata $meta -PassThru
        $copied = Copy-Checkpoint -LiteralPath $script:dir -Step 3 -Destination "$($script:dir)-copy" -PassThru
        try {
            foreach ($record in $saved, (Get-Checkpoint -LiteralPath $script:dir -Step 3), $copied) {
                $record.Metadata.run.opt.lr | Should -Be 0.5
                $record.Metadata.list.n | Should -Be @(1, 2)
                $record.Metadata.a.name | Should -Be 'shared'
                $record.Metadata.a | Should -BeOfType [pscustomobject]
                $record.Metadata.b.name | Should -Be 'shared'
                ($record.Metadata | ConvertTo-Json -Depth 5 -Compress) | Should -BeLike '*"opt":{"lr":0.5}*'
            }
        }
        finally {
            Remove-Item -LiteralPath "$($script:dir)-copy" -Recurse -Force -ErrorAction Ignore
        }
    }
}
