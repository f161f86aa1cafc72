# PowerShell values in and out: container kinds, property order, keys, arrays and leaves keep their types.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function RoundTrip($State) {
        $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Save-Checkpoint -LiteralPath $dir -InputObject $State -Step 0 -ErrorAction Stop
        Restore-Checkpoint -LiteralPath $dir -ErrorAction Stop
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Container kinds round-trip' {
    It 'Hashtable comes back as Hashtable' {
        $r = RoundTrip @{ a = 1; b = 'two' }
        $r | Should -BeOfType [hashtable]
        $r.a | Should -Be 1
        $r.b | Should -Be 'two'
    }

    It '[ordered] comes back as OrderedDictionary with its key order' {
        $r = RoundTrip ([ordered]@{ zeta = 1; alpha = 2; mid = 3 })
        $r | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        @($r.Keys) | Should -Be @('zeta', 'alpha', 'mid')
    }

    It 'PSCustomObject comes back as PSCustomObject with its property order' {
        $r = RoundTrip ([pscustomobject]@{ zeta = 1; alpha = 'a'; mid = $null })
        $r | Should -BeOfType [System.Management.Automation.PSCustomObject]
        $r.psobject.Properties.Name | Should -Be @('zeta', 'alpha', 'mid')
        $r.zeta | Should -Be 1
        $r.alpha | Should -Be 'a'
        $r.mid | Should -BeNullOrEmpty
    }

    It 'integer keys stay integers' {
        $r = RoundTrip @{ 1 = 'one'; 2 = 'two' }
        $r[1] | Should -Be 'one'
        @($r.Keys | ForEach-Object { $_.GetType() }) | Should -Be @([int], [int])
    }

    It 'object arrays stay object arrays, with null and mixed elements' {
        $r = RoundTrip @{ list = @(1, 'x', $null, 2.5) }
        $r.list.GetType() | Should -Be ([object[]])
        $r.list.Count | Should -Be 4
        $r.list[1] | Should -Be 'x'
        $r.list[2] | Should -BeNullOrEmpty
    }

    It 'empty containers stay empty containers of their kind' {
        $r = RoundTrip @{ h = @{}; o = [ordered]@{}; a = @() }
        $r.h | Should -BeOfType [hashtable]
        $r.h.Count | Should -Be 0
        $r.o | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        , $r.a | Should -BeOfType [object[]]
        $r.a.Count | Should -Be 0
    }

    It 'nested containers keep every kind at every depth' {
        $r = RoundTrip @{ runs = @( [ordered]@{ cfg = [pscustomobject]@{ lr = 0.1; name = 'x' } } ) }
        $r.runs.GetType() | Should -Be ([object[]])
        $r.runs[0] | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        $r.runs[0].cfg | Should -BeOfType [System.Management.Automation.PSCustomObject]
        $r.runs[0].cfg.lr | Should -Be 0.1
    }

    It 'a generic dictionary with integer keys keeps its type, so [0] reads key 0 (an ordered dictionary''s [0] is its first entry)' {
        # Attack of session 20: Dictionary[int,string] came back as an OrderedDictionary, and $r.map[0] gave 'five'.
        $map = [System.Collections.Generic.Dictionary[int, string]]::new()
        $map[5] = 'five'
        $map[0] = 'zero'
        $longs = [System.Collections.Generic.Dictionary[long, object]]::new()
        $longs[1] = [pscustomobject]@{ a = 1 }
        $longs[0] = $null
        $r = RoundTrip @{ map = $map; longs = $longs }
        $r.map | Should -BeOfType ([System.Collections.Generic.Dictionary[int, string]])
        $r.map[0] | Should -BeExactly 'zero'
        $r.map[5] | Should -BeExactly 'five'
        $r.longs | Should -BeOfType ([System.Collections.Generic.Dictionary[long, object]])
        $r.longs[[long]1] | Should -BeOfType [System.Management.Automation.PSCustomObject]
        $r.longs[[long]1].a | Should -Be 1
        $r.longs.ContainsKey([long]0) | Should -BeTrue
        $null -eq $r.longs[[long]0] | Should -BeTrue
    }

    It 'generic dictionaries with string keys (state written from C#) come back as ordered dictionaries, recursively; others keep their type' {
        $inner = [System.Collections.Generic.Dictionary[int, object]]::new()
        $inner[7] = [pscustomobject]@{ a = 1 }
        $outer = [System.Collections.Generic.Dictionary[string, object]]::new()
        $outer['z'] = $inner
        $outer['a'] = 2
        $r = RoundTrip @{ d = $outer }
        $r.d | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        @($r.d.Keys) | Should -Be @('z', 'a')
        $r.d['z'] | Should -BeOfType ([System.Collections.Generic.Dictionary[int, object]])
        $r.d['z'][7] | Should -BeOfType [System.Management.Automation.PSCustomObject]
        $r.d['z'][7].a | Should -Be 1
    }

    It 'a PSCustomObject as the whole state comes back as one object' {
        $r = RoundTrip ([pscustomobject]@{ step = 3 })
        @($r).Count | Should -Be 1
        $r.step | Should -Be 3
    }

    It 'values that reached the state through the pipeline (PSObject-wrapped) are unwrapped' {
        $numbers = 1..3 | ForEach-Object { $_ }
        $r = RoundTrip @{ numbers = $numbers; name = (Write-Output 'wrapped') }
        $r.numbers | Should -Be @(1, 2, 3)
        $r.name | Should -Be 'wrapped'
    }
}

Describe 'Leaves round-trip with their .NET types' {
    It 'numeric arrays of any rank come back as the same arrays' {
        $m = [double[,]]::new(2, 3)
        $m[1, 2] = 7.5
        $r = RoundTrip @{ f = [float[]](1.5, -2); i = [int[]](1, 2, 3); b = [byte[]](0, 255); m = $m }
        $r.f.GetType() | Should -Be ([float[]])
        $r.f | Should -Be @(1.5, -2)
        $r.i.GetType() | Should -Be ([int[]])
        $r.b.GetType() | Should -Be ([byte[]])
        $r.b | Should -Be @(0, 255)
        $r.m.GetType() | Should -Be ([double[,]])
        $r.m[1, 2] | Should -Be 7.5
    }

    It 'scalars keep their types' {
        $when = [datetime]::new(2024, 5, 6, 7, 8, 9, [DateTimeKind]::Utc)
        $id = [guid]::NewGuid()
        $r = RoundTrip @{ l = [long]5; d = [decimal]1.25; c = [char]'x'; t = $when; g = $id; s = [timespan]::FromMinutes(3); b = $true; n = $null }
        $r.l | Should -BeOfType [long]
        $r.d | Should -BeOfType [decimal]
        $r.c | Should -BeOfType [char]
        $r.t | Should -Be $when
        $r.t.Kind | Should -Be 'Utc'
        $r.g | Should -Be $id
        $r.s | Should -Be ([timespan]::FromMinutes(3))
        $r.b | Should -BeTrue
        $r.ContainsKey('n') | Should -BeTrue
        $r.n | Should -BeNullOrEmpty
    }

    It 'strings outside the BMP and negative zero survive bit-exactly' {
        $r = RoundTrip @{ s = "emoji $([char]::ConvertFromUtf32(0x1F600))"; z = -0.0 }
        $r.s | Should -BeExactly "emoji $([char]::ConvertFromUtf32(0x1F600))"
        [BitConverter]::DoubleToInt64Bits($r.z) | Should -Be ([BitConverter]::DoubleToInt64Bits(-0.0))
    }

    It 'user keys that look like markers are ordinary keys' {
        $r = RoundTrip @{ __metadata__ = 1; __string__ = 'x' }
        $r.__metadata__ | Should -Be 1
        $r.__string__ | Should -Be 'x'
    }
}

Describe 'Restore, edit, save keeps every type' {
    It 'a restored state saved again restores identically' {
        $dir = Join-Path $TestDrive 'edit'
        [ordered]@{ w = [float[]](1, 2); meta = [pscustomobject]@{ a = 1 } } | Save-Checkpoint $dir -Step 1
        $state = Restore-Checkpoint $dir
        $state.w[0] = 10
        $state | Save-Checkpoint $dir -Step 2
        $again = Restore-Checkpoint $dir -Step 2
        $again | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        $again.w | Should -Be @(10, 2)
        $again.meta | Should -BeOfType [System.Management.Automation.PSCustomObject]
    }
}
