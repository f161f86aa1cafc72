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

Describe 'Attack 20 (round 2): what the metadata view changes' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a20b-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir, "$($script:dir)-copy" -Recurse -Force -ErrorAction Ignore
    }

    It 'A_CSharp_dictionary_with_integer_keys_in_metadata_reads_by_key_from_Get-Checkpoint_records' {
        # FAILS on d6ad138: before the view, a record's Metadata held the Dictionary[int,string] as saved, so $m.map[0]
        # was the value of key 0 ('zero'). The view turns it into an OrderedDictionary, whose [int] indexer is
        # POSITIONAL: $m.map[0] silently gives 'five' (the first entry) and $m.map[5] throws. A filter on a record such as
        # Where-Object { $_.Metadata.map[0] -eq 'zero' } now selects nothing, without an error.
        $map = [System.Collections.Generic.Dictionary[int, string]]::new()
        $map[5] = 'five'
        $map[0] = 'zero'
        $saved = @{ x = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 1 -Metadata @{ map = $map } -PassThru
        $listed = Get-Checkpoint -LiteralPath $script:dir -Step 1
        foreach ($record in $saved, $listed) {
            $record.Metadata.map[0] | Should -Be 'zero'
            $record.Metadata.map[5] | Should -Be 'five'
        }
        @(Get-Checkpoint -LiteralPath $script:dir | Where-Object { $_.Metadata.map[0] -eq 'zero' }).Count | Should -Be 1
    }

    It 'Changing the metadata of one record changes neither another record of the step nor a later read (holds)' {
        $saved = @{ x = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 2 -Metadata @{ cfg = [pscustomobject]@{ lr = 0.1 }; h = @{ n = 1 }; l = [Collections.ArrayList]@(1, 2) } -PassThru
        $first = Get-Checkpoint -LiteralPath $script:dir -Step 2
        $first.Metadata.cfg.lr = 9
        $first.Metadata.h.n = 9
        [void]$first.Metadata.l.Add(3)
        $saved.Metadata.cfg.lr | Should -Be 0.1
        $again = Get-Checkpoint -LiteralPath $script:dir -Step 2
        $again.Metadata.cfg.lr | Should -Be 0.1
        $again.Metadata.h.n | Should -Be 1
        $again.Metadata.l.Count | Should -Be 2
        (Restore-Checkpoint -LiteralPath $script:dir -Step 2 -MetadataOnly).cfg.lr | Should -Be 0.1
        # The same record read twice shows the one (changed) value: the view is applied once.
        $first.Metadata.cfg.lr | Should -Be 9
    }

    It 'A record''s Metadata saved again with -Metadata keeps the PSCustomObject, decimals, keys, $null and nested lists (holds)' {
        $meta = @{ cfg = [pscustomobject]@{ lr = 0.1; tags = @('a', @(1, 2)) }; dec = 1.25d; none = $null; key = (New-PrngKey -Seed 7); Mixed = 1 }
        $first = @{ x = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 1 -Metadata $meta -PassThru
        $second = @{ x = 2 } | Save-Checkpoint -LiteralPath $script:dir -Step 2 -Metadata $first.Metadata -PassThru
        $m = Restore-Checkpoint -LiteralPath $script:dir -Step 2 -MetadataOnly
        $m.cfg | Should -BeOfType [pscustomobject]
        $m.cfg.lr | Should -Be 0.1
        $m.cfg.tags[1][1] | Should -Be 2
        $m.dec | Should -BeOfType [decimal]
        $m.dec | Should -Be 1.25d
        @($m.Keys) | Should -Contain 'none'
        $m.none | Should -BeNullOrEmpty
        "$($m.key)" | Should -Be "$($meta.key)"
        $second.Metadata.mixed | Should -Be 1
        $m.MIXED | Should -Be 1
    }

    It 'Get-Checkpoint of one location in four runspaces at once shows the PSCustomObject in every record (holds)' {
        1..6 | ForEach-Object { @{ x = $_ } | Save-Checkpoint -LiteralPath $script:dir -Step $_ -Metadata @{ cfg = [pscustomobject]@{ lr = $_ / 10 } } }
        $manifest = $ModuleManifest
        $dir = $script:dir
        $seen = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
            Import-Module $using:manifest
            1..5 | ForEach-Object { Get-Checkpoint -LiteralPath $using:dir | ForEach-Object { $_.Metadata.cfg.lr } }
        }
        $seen.Count | Should -Be 120
        @($seen | Where-Object { $null -eq $_ }).Count | Should -Be 0
        [math]::Round(($seen | Measure-Object -Sum).Sum, 6) | Should -Be 42
    }
}

# Never skipped: without Azurite (build.ps1 -Task Test starts it) Get-TestAzurite fails and says how to start it.
Describe 'Attack 20 (round 2): remote copies of metadata read through the view' {
    BeforeAll {
        $script:SavedConnection = $env:AZURE_STORAGE_CONNECTION_STRING
        $env:AZURE_STORAGE_CONNECTION_STRING = (Get-TestAzurite).ConnectionString
    }
    AfterAll {
        $env:AZURE_STORAGE_CONNECTION_STRING = $script:SavedConnection
    }
    BeforeEach {
        $script:local = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a20r-" + [guid]::NewGuid().ToString('N'))
        $script:remote = "az://dx$([guid]::NewGuid().ToString('N'))/run"
    }
    AfterEach {
        Remove-Item -LiteralPath $script:local, "$($script:local)-back" -Recurse -Force -ErrorAction Ignore
    }

    It 'local -> az:// -> local keeps a PSCustomObject and a case-insensitive dictionary in metadata; every record shows them (holds)' {
        $meta = @{ cfg = [pscustomobject]@{ lr = 0.1 }; Run = @{ Name = 'r' } }
        @{ x = 1 } | Save-Checkpoint -LiteralPath $script:local -Step 4 -Metadata $meta
        $up = Copy-Checkpoint -LiteralPath $script:local -Step 4 -Destination $script:remote -PassThru
        $listed = Get-Checkpoint -Path $script:remote -Step 4
        $down = Copy-Checkpoint -Path $script:remote -Step 4 -Destination "$($script:local)-back" -PassThru
        foreach ($record in $up, $listed, $down) {
            $record.Metadata.cfg | Should -BeOfType [pscustomobject]
            $record.Metadata.cfg.lr | Should -Be 0.1
            $record.Metadata.run.name | Should -Be 'r'
        }
        (Restore-Checkpoint -Path $script:remote -Step 4 -MetadataOnly).cfg.lr | Should -Be 0.1
        $back = Restore-Checkpoint -LiteralPath "$($script:local)-back" -Step 4 -MetadataOnly
        $back.cfg | Should -BeOfType [pscustomobject]
        $back.RUN.NAME | Should -Be 'r'
        (Lock-Checkpoint -Path $script:remote -Step 4 -PassThru).Metadata.cfg.lr | Should -Be 0.1
        (Unlock-Checkpoint -Path $script:remote -Step 4 -PassThru).Metadata.cfg.lr | Should -Be 0.1
        (Remove-Checkpoint -Path $script:remote -Step 4 -Confirm:$false -PassThru).Metadata.cfg.lr | Should -Be 0.1
    }
}
