# The module's conversion between PowerShell values and the engine's (issue 15): one pass, no copy of a
# container whose contents need no conversion, no write-back of restored values that stay as they are;
# and everything a user sees unchanged (types, wrappers, shared references, cycles refused).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
    # Loads the engine, so the conversion types can be reached.
    $null = Get-CheckpointStep (Join-Path $TestDrive 'none') -ErrorAction SilentlyContinue

    $cmdlets = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'DataraxCkpt.Cmdlets' } | Select-Object -First 1
    $flags = [Reflection.BindingFlags]'Public,Static'
    $script:ToEngine = $cmdlets.GetType('DataraxCkpt.Commands.Conversion.StateToEngine', $true).GetMethod('Convert', $flags, $null, [type[]]@([object]), $null)
    $script:FromEngine = $cmdlets.GetType('DataraxCkpt.Commands.Conversion.StateFromEngine', $true).GetMethod('Convert', $flags)
    function ConvertTo-EngineValue($State) { $a = [object[]]::new(1); $a[0] = $State; $ToEngine.Invoke($null, $a) }
    function ConvertFrom-EngineValue($Value) { $a = [object[]]::new(1); $a[0] = $Value; $FromEngine.Invoke($null, $a) }

    if (-not ('DataraxCkptTests.CountingTable' -as [type])) {
        Add-Type -TypeDefinition @'
namespace DataraxCkptTests {
    // Counts the values written through the indexer, to see what the restore conversion writes back.
    public class CountingTable : System.Collections.Hashtable {
        public int Writes;
        public override object this[object key] { get { return base[key]; } set { Writes++; base[key] = value; } }
    }
}
'@
    }
}

Describe 'Save: containers that need no conversion are not copied' {
    It 'a hashtable of numbers and strings goes to the engine as the user''s own instance' {
        $state = @{ a = 1; b = 'two'; c = 3.5; d = $true; e = $null }
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeTrue
    }

    It 'nested hashtables, ordered dictionaries and arrays of plain values are all handed over as they are' {
        $inner = [ordered]@{ lr = 0.01; tags = @('a', 'b') }
        $state = @{ config = $inner; list = [Collections.ArrayList]@(1, 2) }
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeTrue
        [object]::ReferenceEquals($converted['config'], $inner) | Should -BeTrue
    }

    It 'a PSObject-wrapped value makes a copy of its container and of the containers above it, not of its siblings' {
        $sibling = @{ x = 1 }
        $inner = @{ w = [psobject]5 }
        $state = @{ inner = $inner; sibling = $sibling }
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeFalse
        [object]::ReferenceEquals($converted['inner'], $inner) | Should -BeFalse
        [object]::ReferenceEquals($converted['sibling'], $sibling) | Should -BeTrue
        $converted['inner']['w'] | Should -BeOfType [int]
        $converted['inner']['w'] -is [psobject] | Should -BeFalse
        # The user's own state keeps its wrapper.
        $inner['w'] -is [psobject] | Should -BeTrue
    }

    It 'a wrapped value after many plain entries makes a copy holding every entry, each converted' {
        # The conversion buffers entries only from the first one that changes; the ones before it are taken again.
        $state = @{}
        for ($i = 0; $i -lt 200; $i++) { $state["k$i"] = $i }
        $state['wrapped'] = [psobject]7
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeFalse
        $converted.Count | Should -Be 201
        for ($i = 0; $i -lt 200; $i++) { $converted["k$i"] | Should -Be $i }
        $converted['wrapped'] -is [psobject] | Should -BeFalse
        $converted['wrapped'] | Should -Be 7
    }

    It 'a wrapped item at the end of an array and of an ArrayList makes copies with every item in order' {
        $array = [object[]]@(1, 'two', 3.5, [psobject]4)
        $list = [Collections.ArrayList]@('a', 'b', [psobject]'c')
        $converted = ConvertTo-EngineValue @{ a = $array; l = $list }
        [object]::ReferenceEquals($converted['a'], $array) | Should -BeFalse
        $converted['a'].GetType() | Should -Be ([object[]])
        for ($i = 0; $i -lt 4; $i++) { $converted['a'][$i] -is [psobject] | Should -BeFalse }
        $converted['a'][0] | Should -Be 1
        $converted['a'][1] | Should -BeExactly 'two'
        $converted['a'][3] | Should -Be 4
        $converted['l'].GetType() | Should -Be ([Collections.ArrayList])
        ($converted['l'] -join ',') | Should -BeExactly 'a,b,c'
    }

    It 'an item that user code replaced while the array was walked is converted, never handed over raw' {
        # A ScriptProperty's getter runs during the conversion; here it puts a wrapped hashtable in a slot already
        # walked. The entries before the first change are read again when the copy starts (found by the attack on
        # the module save path: the raw PSObject reached the engine and the save was refused).
        $script:walked = [object[]]::new(3)
        $walked[0] = 'first'
        $walked[1] = 2
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name touch -Value { $script:walked[0] = [psobject]@{ inner = [psobject]5 }; 'got' }
        $walked[2] = $o
        $converted = ConvertTo-EngineValue @{ a = $walked }
        $first = $converted['a'][0]
        $first -is [psobject] | Should -BeFalse
        $first['inner'] -is [psobject] | Should -BeFalse
        $first['inner'] | Should -Be 5
        $converted['a'][1] | Should -Be 2
        $converted['a'][2].GetType().Name | Should -Be 'StateObject'
    }

    It 'a Dictionary whose earlier entry user code removed or replaced during the walk gives a consistent copy' {
        # Dictionary<,> lets a value be replaced or a key removed without failing the walk's enumerator.
        $script:dict = [Collections.Generic.Dictionary[string, object]]::new()
        $dict['k0'] = 'zero'
        $dict['k1'] = 'one'
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name touch -Value { $null = $script:dict.Remove('k0'); $script:dict['k1'] = [psobject]@{ x = [psobject]1 }; 'got' }
        $dict['k2'] = $o
        $converted = ConvertTo-EngineValue @{ d = $dict }
        $d = $converted['d']
        $d.GetType() | Should -Be ([Collections.Generic.Dictionary[string, object]])
        ($d.Keys | Sort-Object) -join ',' | Should -BeExactly 'k1,k2'
        $d['k1'] -is [psobject] | Should -BeFalse
        $d['k1']['x'] -is [psobject] | Should -BeFalse
        $d['k2'].GetType().Name | Should -Be 'StateObject'
    }

    It 'a copy keeps the case-insensitive comparer of @{}' {
        $converted = ConvertTo-EngineValue @{ Lr = [psobject]1 }
        $converted['LR'] | Should -Be 1
    }

    It 'a subclass of Hashtable is still handed over as a plain Hashtable' {
        $state = [DataraxCkptTests.CountingTable]::new()
        $state['a'] = 1
        $converted = ConvertTo-EngineValue $state
        $converted.GetType() | Should -Be ([hashtable])
        $converted['a'] | Should -Be 1
    }

    It 'a List[psobject] still becomes a List[object] of unwrapped values' {
        $list = [Collections.Generic.List[psobject]]::new()
        $list.Add(1)
        $converted = ConvertTo-EngineValue @{ l = $list }
        $converted['l'].GetType() | Should -Be ([Collections.Generic.List[object]])
    }

    It 'one hashtable under two keys stays one instance' {
        $shared = @{ a = 1 }
        $converted = ConvertTo-EngineValue @{ x = $shared; y = $shared; w = [psobject]2 }
        [object]::ReferenceEquals($converted['x'], $converted['y']) | Should -BeTrue
    }

    It 'a cycle through a container that is copied closes over the copy' {
        $state = @{ w = [psobject]1 }
        $state['self'] = $state
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeFalse
        [object]::ReferenceEquals($converted['self'], $converted) | Should -BeTrue
    }

    It 'a cycle of plain hashtables is still refused as UnsupportedValue naming where it closes' {
        $state = @{ a = @{ n = 1 } }
        $state['a']['back'] = $state
        $errors = $null
        Save-Checkpoint (Join-Path $TestDrive 'cycle') -InputObject $state -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'UnsupportedValue,DataraxCkpt.Commands.SaveCheckpointCommand'
        $errors[0].Exception.Message | Should -Match 'a\.back'
    }

    It 'a save leaves the user''s state as it was and restores it equal' {
        $state = @{ n = 1; nested = @{ s = 'x'; arr = @(1, 'b') }; wrapped = [psobject]7 }
        $target = Join-Path $TestDrive 'unchanged'
        Save-Checkpoint $target -InputObject $state
        $state.Keys.Count | Should -Be 3
        $state['wrapped'] -is [psobject] | Should -BeTrue
        $restored = Restore-Checkpoint $target
        $restored.nested.arr | Should -Be @(1, 'b')
        $restored.wrapped | Should -Be 7
        $restored.NESTED.S | Should -Be 'x'
    }
}

Describe 'Restore: only replaced values are written back' {
    It 'a restored hashtable of plain values and hashtables gets no write' {
        $table = [DataraxCkptTests.CountingTable]::new()
        $table.Add('a', 1)
        $table.Add('b', 'text')
        $table.Add('c', [hashtable]@{ d = 2 })
        $table.Add('e', [object[]]@(1, 2))
        $converted = ConvertFrom-EngineValue $table
        [object]::ReferenceEquals($converted, $table) | Should -BeTrue
        $table.Writes | Should -Be 0
    }

    It 'a value the conversion replaces (an engine dictionary) is written back once, as an ordered dictionary' {
        $table = [DataraxCkptTests.CountingTable]::new()
        $table.Add('a', 1)
        $generic = [Collections.Generic.Dictionary[string, object]]::new()
        $generic['x'] = 1
        $table.Add('g', $generic)
        $null = ConvertFrom-EngineValue $table
        $table.Writes | Should -Be 1
        $table['g'] | Should -BeOfType [Collections.Specialized.OrderedDictionary]
        $table['g']['x'] | Should -Be 1
    }

    It 'a PSCustomObject inside an ordered dictionary and an array comes back as PSCustomObject' {
        $target = Join-Path $TestDrive 'objects'
        Save-Checkpoint $target -InputObject ([ordered]@{ o = [pscustomobject]@{ a = 1 }; arr = @([pscustomobject]@{ b = 2 }, 3) })
        $restored = Restore-Checkpoint $target
        $restored.o | Should -BeOfType [pscustomobject]
        $restored.o.a | Should -Be 1
        $restored.arr[0].b | Should -Be 2
        $restored.arr[1] | Should -Be 3
    }
}
