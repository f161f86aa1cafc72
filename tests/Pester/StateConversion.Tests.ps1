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
    # The save's conversion of a state with no -Metadata: Convert(state, metadata, out convertedMetadata).
    $script:ToEngine = $cmdlets.GetType('DataraxCkpt.Commands.Conversion.StateToEngine', $true).GetMethod('Convert', $flags, $null,
        [type[]]@([object], [System.Collections.IDictionary], [System.Collections.Generic.Dictionary[string, object]].MakeByRefType()), $null)
    $script:FromEngine = $cmdlets.GetType('DataraxCkpt.Commands.Conversion.StateFromEngine', $true).GetMethod('Convert', $flags)
    function ConvertTo-EngineValue($State) { $a = [object[]]::new(3); $a[0] = $State; $ToEngine.Invoke($null, $a) }
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
        # the module save path: the raw PSObject reached the engine and the save was refused). The getter changes the
        # state on its first read only: one that changes it on every read is refused (StateChangedDuringSave.Tests.ps1).
        $script:walked = [object[]]::new(3)
        $walked[0] = 'first'
        $walked[1] = 2
        $script:touched = 0
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name touch -Value { if ($script:touched++ -eq 0) { $script:walked[0] = [psobject]@{ inner = [psobject]5 } }; 'got' }
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
        # Dictionary<,> lets a value be replaced or a key removed without failing the walk's enumerator (first read only, as above).
        $script:dict = [Collections.Generic.Dictionary[string, object]]::new()
        $dict['k0'] = 'zero'
        $dict['k1'] = 'one'
        $o = [pscustomobject]@{ a = 1 }
        $script:touched = 0
        $o | Add-Member -MemberType ScriptProperty -Name touch -Value { if ($script:touched++ -eq 0) { $null = $script:dict.Remove('k0'); $script:dict['k1'] = [psobject]@{ x = [psobject]1 } }; 'got' }
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

Describe 'Save: plain hashtables and arrays skip the walk and convert as the full walk does' {
    # StateToEngine hands a Hashtable or object[] of plain values (and such containers one level down) to the engine
    # without walking it through its memo (issue 17 (e)). The same value with every container and value wrapped in a
    # PSObject takes the full walk: both must give the engine the same values and restore the same state.
    BeforeAll {
        # Every container rebuilt (same type) and every value wrapped, so nothing in it takes the plain path.
        function ConvertTo-Wrapped($Value) {
            if ($null -eq $Value) { return $null }
            if ($Value -is [hashtable]) {
                $copy = @{}
                foreach ($k in $Value.Keys) { $copy[$k] = ConvertTo-Wrapped $Value[$k] }
                return [psobject]$copy
            }
            if ($Value -is [object[]]) {
                $copy = [object[]]::new($Value.Length)
                for ($i = 0; $i -lt $Value.Length; $i++) { $copy[$i] = ConvertTo-Wrapped $Value[$i] }
                return , [psobject]$copy
            }
            [psobject]$Value
        }

        # True when every container and value under a wrapped twin is a PSObject, so none of it can take the plain path.
        function Test-AllWrapped($Value) {
            if ($Value -isnot [psobject]) { return $false }
            $base = $Value.psobject.BaseObject
            if ($base -is [hashtable]) { foreach ($k in @($base.Keys)) { if ($null -ne $base[$k] -and -not (Test-AllWrapped $base[$k])) { return $false } } }
            if ($base -is [object[]]) { foreach ($item in $base) { if ($null -ne $item -and -not (Test-AllWrapped $item)) { return $false } } }
            $true
        }

        # A text naming every type, value, key and whether a string-keyed dictionary answers its keys upper-cased.
        function Get-ValueShape($Value) {
            if ($null -eq $Value) { return 'null' }
            $type = $Value.GetType().FullName
            if ($Value -is [Collections.IDictionary]) {
                $parts = foreach ($k in @($Value.Keys | Sort-Object)) {
                    $ci = if ($k -is [string]) { $Value.Contains($k.ToUpperInvariant()) } else { 'n/a' }
                    "$($k.GetType().Name):$k(ci=$ci)=" + (Get-ValueShape $Value[$k])
                }
                return "$type{" + ($parts -join ';') + '}'
            }
            if ($Value -is [Collections.IList]) {
                $items = for ($i = 0; $i -lt $Value.Count; $i++) { Get-ValueShape $Value[$i] }
                return "$type[" + ($items -join ',') + ']'
            }
            "${type}:" + [string]::Format([Globalization.CultureInfo]::InvariantCulture, '{0}', $Value)
        }

        $wide = @{}
        for ($i = 0; $i -lt 100; $i++) { $wide["k$i"] = "v$i" }
        $script:plainStates = [ordered]@{
            'a hashtable of every plain leaf (and a string that looks like a path)' = @{
                i = 1; l = [long]2; d = 0.5; f = [float]1.5; b = $true; c = [char]'x'; s = 'text'; n = $null; by = [byte]7; sb = [sbyte]-3
                sh = [int16]-4; us = [uint16]5; ui = [uint32]6; ul = [uint64]8; path = './data/../x.bin'
            }
            'an array of plain leaves' = @{ a = @(1, 'two', 3.5, $false, $null, [char]'c', [long]9) }
            'one config (name, lr, a tags array, a bool)' = @{ name = 'layer1'; lr = 0.001; tags = @('conv', 'block1', 'trainable'); enabled = $true }
            'a hashtable of configs, as the bench saves' = @{
                layer0 = @{ name = 'layer0'; lr = 0.001; tags = @('conv', 'block0', 'trainable'); enabled = $false }
                layer1 = @{ name = 'layer1'; lr = 0.002; tags = @('conv', 'block1', 'trainable'); enabled = $true }
                Layer2 = @{ name = 'Layer2'; lr = 0.003; tags = @(); enabled = $true }
            }
            'arrays of hashtables and arrays of arrays' = @{ list = @(@{ x = 1 }, @{ Y = 'z' }, 3); grid = @(@(1, 2), @('a', $null)) }
            'hashtables three deep (past the plain test''s two levels)' = @{ a = @{ b = @{ c = 1; d = @('e') } } }
            'containers past the plain test''s size limit' = @{ big = [object[]](1..200); wide = $wide }
        }
    }

    It '<_> is handed over as it is; its wrapped twin is copied into the same values' -ForEach @(
        'a hashtable of every plain leaf (and a string that looks like a path)'
        'an array of plain leaves'
        'one config (name, lr, a tags array, a bool)'
        'a hashtable of configs, as the bench saves'
        'arrays of hashtables and arrays of arrays'
        'containers past the plain test''s size limit'
    ) {
        $state = $plainStates[$_]
        $wrapped = ConvertTo-Wrapped $state
        Test-AllWrapped $wrapped | Should -BeTrue
        $fast = ConvertTo-EngineValue $state
        $slow = ConvertTo-EngineValue $wrapped
        [object]::ReferenceEquals($fast, $state) | Should -BeTrue
        [object]::ReferenceEquals($slow, $wrapped.psobject.BaseObject) | Should -BeFalse
        Get-ValueShape $slow | Should -BeExactly (Get-ValueShape $state)
        Get-ValueShape $fast | Should -BeExactly (Get-ValueShape $state)
    }

    It '<_> and its wrapped twin restore as the same state' -ForEach @(
        'a hashtable of every plain leaf (and a string that looks like a path)'
        'an array of plain leaves'
        'one config (name, lr, a tags array, a bool)'
        'a hashtable of configs, as the bench saves'
        'arrays of hashtables and arrays of arrays'
        'hashtables three deep (past the plain test''s two levels)'
        'containers past the plain test''s size limit'
    ) {
        $state = $plainStates[$_]
        $place = Join-Path $TestDrive ('plain-' + [guid]::NewGuid().ToString('N'))
        Save-Checkpoint -LiteralPath $place -InputObject $state -Step 1
        Save-Checkpoint -LiteralPath $place -InputObject (ConvertTo-Wrapped $state) -Step 2
        $fast = Restore-Checkpoint -LiteralPath $place -Step 1
        $slow = Restore-Checkpoint -LiteralPath $place -Step 2
        Get-ValueShape $fast | Should -BeExactly (Get-ValueShape $slow)
        # Restored as saved: the same types and values, and @{} still case-insensitive.
        Get-ValueShape $fast | Should -BeExactly (Get-ValueShape $state)
    }

    It 'a wrapped value two levels down (a config''s tags) makes copies of the array, the config and the state' {
        $tags = @('conv', [psobject]'block1')
        $config = @{ name = 'layer1'; tags = $tags }
        $sibling = @{ name = 'layer0'; tags = @('conv') }
        $state = @{ layer1 = $config; layer0 = $sibling }
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeFalse
        [object]::ReferenceEquals($converted['layer1'], $config) | Should -BeFalse
        [object]::ReferenceEquals($converted['layer1']['tags'], $tags) | Should -BeFalse
        [object]::ReferenceEquals($converted['layer0'], $sibling) | Should -BeTrue
        $converted['layer1']['tags'][1] -is [psobject] | Should -BeFalse
        $converted['layer1']['tags'][1] | Should -BeExactly 'block1'
        $converted['LAYER1']['TAGS'][0] | Should -BeExactly 'conv'
    }

    It 'a small hashtable whose only non-plain part is a PSObject-wrapped key (top and one level down) is copied with the key unwrapped' {
        # PowerShell unwraps a [psobject] key given to $h[...] or $h.Add(...); MethodInfo.Invoke does not, so this
        # Hashtable holds a real PSObject key around the string 'k' (the plain test's key check is all that sends it
        # to the full walk, which unwraps the key; passed raw, the engine refuses it: keys must be strings or integers).
        $table = @{}
        $null = [hashtable].GetMethod('Add').Invoke($table, [object[]]@([psobject]::AsPSObject('k'), 1))
        [object]::ReferenceEquals((ConvertTo-EngineValue $table), $table) | Should -BeFalse
        $state = @{ inner = $table; n = 2 }
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeFalse
        [object]::ReferenceEquals($converted['inner'], $table) | Should -BeFalse
        $place = Join-Path $TestDrive 'psobject-key'
        Save-Checkpoint -LiteralPath $place -InputObject $state -Step 1 -ErrorAction Stop
        $restored = Restore-Checkpoint -LiteralPath $place -Step 1
        @($restored['inner'].Keys) | Should -BeExactly @('k')
        @($restored['inner'].Keys)[0] | Should -BeOfType [string]
        $restored['inner']['K'] | Should -Be 1
    }

    It 'a plain config under two keys stays one instance, and a cycle three levels down is still refused' {
        $shared = @{ lr = 0.1; tags = @('a') }
        $converted = ConvertTo-EngineValue @{ x = $shared; y = $shared }
        [object]::ReferenceEquals($converted['x'], $converted['y']) | Should -BeTrue
        $state = @{ a = @{ b = @{ n = 1 } } }
        $state['a']['b']['back'] = $state['a']
        $errors = $null
        Save-Checkpoint (Join-Path $TestDrive 'deep-cycle') -InputObject $state -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'UnsupportedValue,DataraxCkpt.Commands.SaveCheckpointCommand'
        $errors[0].Exception.Message | Should -Match 'a\.b\.back'
    }
}

Describe 'Save: the full walk''s leaf and key tests (round 63) still send every wrapped value to its conversion' {
    # Round 63 answers a string key and an int, long, double, bool or string value by one compare of its type, tested once
    # per entry. Past the plain test's 64 items a container takes that full walk; a PSObject-wrapped key or value among
    # thousands of plain ones must still be seen there and unwrapped, or the engine gets a PSObject (refused) or the user's
    # own container with a wrapper in it.
    It 'a PSObject-wrapped key among 1,000 string keys is unwrapped into a copy, saved and restored as a string key' {
        $state = @{}
        for ($i = 0; $i -lt 1000; $i++) { $state["k$i"] = $i }
        # PowerShell unwraps a key given to $h[...]; MethodInfo.Invoke does not, so this key is a real PSObject.
        $null = [hashtable].GetMethod('Add').Invoke($state, [object[]]@([psobject]::AsPSObject('wrappedkey'), 5))
        $wrappedKeys = 0
        foreach ($k in $state.Keys) { if ($k -is [psobject]) { $wrappedKeys++ } }
        $wrappedKeys | Should -Be 1 -Because 'the test needs a wrapped key'
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeFalse
        $converted.Count | Should -Be 1001
        foreach ($k in $converted.Keys) { $k -is [psobject] | Should -BeFalse; $k.GetType() | Should -Be ([string]) }
        $converted['WRAPPEDKEY'] | Should -Be 5
        $place = Join-Path $TestDrive 'wrapped-key-large'
        Save-Checkpoint -LiteralPath $place -InputObject $state -Step 1 -ErrorAction Stop
        $restored = Restore-Checkpoint -LiteralPath $place -Step 1
        $restored.Count | Should -Be 1001
        $restored['wrappedkey'] | Should -Be 5
        $restored['k999'] | Should -Be 999
    }

    It 'a PSObject-wrapped <_> among 1,000 plain ints of a large container is unwrapped into a copy' -ForEach @('int', 'long', 'double', 'bool', 'string') {
        $wrapped = [psobject]::AsPSObject(@{ int = 7; long = [long]7; double = 7.5; bool = $true; string = 'seven' }[$_])
        $plainType = $wrapped.psobject.BaseObject.GetType()
        $table = @{}; $ordered = [ordered]@{}; $list = [Collections.ArrayList]::new(); $array = [object[]]::new(1001)
        for ($i = 0; $i -lt 1000; $i++) { $table["k$i"] = $i; $ordered["k$i"] = $i; $null = $list.Add($i); $array[$i] = $i }
        # An indexer keeps the wrapper; a method argument ($list.Add) would be unwrapped by PowerShell.
        $null = $list.Add($null)
        $table['w'] = $wrapped; $ordered['w'] = $wrapped; $list[1000] = $wrapped; $array[1000] = $wrapped
        foreach ($held in $table['w'], $ordered['w'], $list[1000], $array[1000]) {
            $held -is [psobject] | Should -BeTrue -Because 'the test needs a wrapped value in each container'
        }
        $converted = ConvertTo-EngineValue @{ table = $table; ordered = $ordered; list = $list; array = $array }
        foreach ($name in 'table', 'ordered') {
            [object]::ReferenceEquals($converted[$name], (Get-Variable $name -ValueOnly)) | Should -BeFalse
            $converted[$name]['w'] -is [psobject] | Should -BeFalse -Because "$name's wrapped value is unwrapped"
            $converted[$name]['w'].GetType() | Should -Be $plainType
            $converted[$name]['k999'] | Should -Be 999
        }
        foreach ($name in 'list', 'array') {
            [object]::ReferenceEquals($converted[$name], (Get-Variable $name -ValueOnly)) | Should -BeFalse
            $converted[$name][1000] -is [psobject] | Should -BeFalse -Because "$name's wrapped item is unwrapped"
            $converted[$name][1000].GetType() | Should -Be $plainType
            $converted[$name][999] | Should -Be 999
        }
    }

    It 'every other primitive leaf ([byte], [char], [float] ...) in a large hashtable is handed over as it is and restores with its type' {
        $state = @{}
        for ($i = 0; $i -lt 100; $i++) { $state["k$i"] = $i }
        $leaves = [ordered]@{ by = [byte]7; sb = [sbyte]-3; sh = [int16]-4; us = [uint16]5; ui = [uint32]6; ul = [uint64]8; c = [char]'x'; f = [float]1.5 }
        foreach ($k in $leaves.Keys) { $state[$k] = $leaves[$k] }
        [object]::ReferenceEquals((ConvertTo-EngineValue $state), $state) | Should -BeTrue
        $place = Join-Path $TestDrive 'primitives-large'
        Save-Checkpoint -LiteralPath $place -InputObject $state -Step 1 -ErrorAction Stop
        $restored = Restore-Checkpoint -LiteralPath $place -Step 1
        foreach ($k in $leaves.Keys) {
            $restored[$k].GetType() | Should -Be $leaves[$k].GetType()
            $restored[$k] | Should -Be $leaves[$k]
        }
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
