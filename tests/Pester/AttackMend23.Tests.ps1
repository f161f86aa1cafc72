# Attack on the session-23 mend (326bf47): a dictionary whose PSObject-wrapped key is another of its keys once
# unwrapped is refused as UnsupportedValueException naming its path (IncompatibleStateException for Restore -Into).
# Its own test covered one case-insensitive @{} under state.inner. These pin the other dictionary kinds, key types,
# walks (checked walk, cycle, shared, metadata) and -Into positions, and that a refusal writes nothing and leaves the
# user's dictionary as it was. All passed on 326bf47 (the attack found no break).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
    # MethodInfo.Invoke keeps a PSObject wrapper that PowerShell's own indexers and method calls would remove.
    $script:AddEntry = [System.Collections.IDictionary].GetMethod('Add')
    function script:Add-WrappedKey($Dictionary, $Key, $Value) { $null = $AddEntry.Invoke($Dictionary, [object[]]@([psobject]::AsPSObject($Key), $Value)) }
    function script:New-Colliding {
        $c = @{ k1 = 1 }; Add-WrappedKey $c 'K1' 'w'; , $c
    }
    function script:Get-SaveError($Path, $State, $Metadata) {
        try {
            if ($Metadata) { Save-Checkpoint -LiteralPath $Path -InputObject $State -Metadata $Metadata -Step 1 -ErrorAction Stop | Out-Null }
            else { Save-Checkpoint -LiteralPath $Path -InputObject $State -Step 1 -ErrorAction Stop | Out-Null }
        } catch { return $_ }
        $null
    }
    $script:Probe = [pscustomobject]@{ x = 1 }
    $Probe | Add-Member -MemberType ScriptProperty -Name g -Value { 5 }
}

Describe 'Attack mend23: wrapped-key collisions in every dictionary kind are refused with the path, nothing written' {
    It 'A_collision_in_a_<_>_is_refused_naming_state_inner_and_nothing_is_written' -ForEach @('ordered', 'case-sensitive-hashtable', 'dictionary-object-object', 'dictionary-object-int', 'int-keys') {
        $d = switch ($_) {
            'ordered' { $o = [ordered]@{ k1 = 1 }; Add-WrappedKey $o 'K1' 2; $o }
            'case-sensitive-hashtable' { $h = [hashtable]::new(); $h['k1'] = 1; Add-WrappedKey $h 'k1' 2; $h }
            'dictionary-object-object' { $g = [Collections.Generic.Dictionary[object, object]]::new(); $g.Add('k1', 1); Add-WrappedKey $g 'k1' 2; $g }
            'dictionary-object-int' { $g = [Collections.Generic.Dictionary[object, int]]::new(); $g.Add('k1', 1); Add-WrappedKey $g 'k1' 2; $g }
            'int-keys' { $h = @{}; $h[1] = 1; Add-WrappedKey $h 1 2; $h }
        }
        $d.Count | Should -Be 2 -Because 'the source holds both keys'
        $path = Join-Path $TestDrive "kind-$_"
        $err = Get-SaveError $path @{ inner = $d }
        $err | Should -Not -BeNullOrEmpty -Because 'one of the two values would otherwise be lost'
        $err.Exception.GetType().Name | Should -Be 'UnsupportedValueException'
        $err.Exception.Message | Should -BeLike "*'state.inner'*two keys*once PSObject wrappers are removed*"
        Test-Path $path | Should -BeFalse
        $d.Count | Should -Be 2 -Because "the user's dictionary is not changed by the refusal"
    }

    It 'A_collision_is_refused_with_its_own_path_in_the_<_>' -ForEach @('plain walk', 'checked walk') {
        $deep = New-Colliding; for ($i = 0; $i -lt 30; $i++) { $deep = @{ "l$i" = $deep } }
        $cases = @(
            @{ State = @{ a = @(1, @{ 'x.y' = (New-Colliding) }) }; Path = "state.a[1]['x.y']" }
            @{ State = @{ a = [Collections.ArrayList]@(1, 2, (New-Colliding)) }; Path = 'state.a[2]' }
            @{ State = @{ p = [pscustomobject]@{ q = (New-Colliding) } }; Path = 'state.p.q' }
            @{ State = $deep; Path = 'state.' + ((29..0 | ForEach-Object { "l$_" }) -join '.') }
        )
        $n = 0
        foreach ($case in $cases) {
            if ($_ -eq 'checked walk') { $case.State['zz'] = $Probe }
            $n++
            $path = Join-Path $TestDrive "walk-$($_ -replace ' ')-$n"
            $err = Get-SaveError $path $case.State
            $err.Exception.GetType().Name | Should -Be 'UnsupportedValueException'
            $err.Exception.Message | Should -BeLike "The value at '$([WildcardPattern]::Escape($case.Path))' cannot be checkpointed: two keys*"
            Test-Path $path | Should -BeFalse
        }
    }

    It 'A_collision_on_a_cycle_or_in_metadata_is_refused_with_its_path' {
        $c = New-Colliding; $c['self'] = $c
        (Get-SaveError (Join-Path $TestDrive 'cycle') @{ c = $c }).Exception.Message | Should -BeLike "*'state.c'*two keys*"
        (Get-SaveError (Join-Path $TestDrive 'meta1') @{ a = 1 } @{ inner = @{ deeper = (New-Colliding) } }).Exception.Message | Should -BeLike "*'metadata``[inner``].deeper'*two keys*"
        (Get-SaveError (Join-Path $TestDrive 'meta2') @{ a = 1 } @{ inner = @(1, (New-Colliding)) }).Exception.Message | Should -BeLike "*'metadata``[inner``]``[1``]'*two keys*"
        foreach ($p in 'cycle', 'meta1', 'meta2') { Test-Path (Join-Path $TestDrive $p) | Should -BeFalse }
    }

    It 'A_refused_save_into_an_existing_checkpoint_adds_no_step_and_no_staged_step' {
        $path = Join-Path $TestDrive 'existing'
        Save-Checkpoint -LiteralPath $path -InputObject @{ a = 1 } -Step 1 | Out-Null
        $before = Get-ChildItem -LiteralPath $path -Recurse -Force | ForEach-Object FullName | Sort-Object
        $err = $null
        try { Save-Checkpoint -LiteralPath $path -InputObject @{ x = (New-Colliding) } -Step 2 -ErrorAction Stop | Out-Null } catch { $err = $_ }
        $err.Exception.GetType().Name | Should -Be 'UnsupportedValueException'
        (Get-ChildItem -LiteralPath $path -Recurse -Force | ForEach-Object FullName | Sort-Object) | Should -Be $before
        (Restore-Checkpoint -LiteralPath $path).a | Should -Be 1
    }

    It 'A_colliding_Into_target_<Name>_is_refused_as_incompatible_and_left_as_it_was' -ForEach @(
        @{ Name = 'nested'; Saved = @{ inner = @{ k1 = 1 } }; Make = { $t = New-Colliding; @{ inner = $t; other = 5 }, $t }; Where = 'state.inner' }
        @{ Name = 'in-a-list'; Saved = @{ l = @(@{ k1 = 1 }) }; Make = { $t = New-Colliding; @{ l = @($t) }, $t }; Where = 'state.l[0]' }
        @{ Name = 'top-level'; Saved = @{ inner = 1 }; Make = { $t = @{ inner = 0 }; Add-WrappedKey $t 'INNER' 'w'; $t, $t }; Where = 'state' }
    ) {
        $path = Join-Path $TestDrive "into-$Name"
        Save-Checkpoint -LiteralPath $path -InputObject $Saved -Step 1 | Out-Null
        $into, $target = & $Make
        $snapshot = @($target.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) | Sort-Object
        $err = $null
        try { Restore-Checkpoint -LiteralPath $path -Into $into -ErrorAction Stop } catch { $err = $_ }
        $err.Exception.GetType().Name | Should -Be 'IncompatibleStateException'
        $err.Exception.Message | Should -BeLike "*item '$([WildcardPattern]::Escape($Where))'*once PSObject wrappers are removed*Nothing was restored*"
        (@($target.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) | Sort-Object) | Should -Be $snapshot
    }

    It 'Keys_that_differ_by_type_not_by_wrapper_are_both_kept_<Name>' -ForEach @(
        @{ Name = 'int-and-wrapped-long'; Make = { $h = @{}; $h[1] = 'one'; Add-WrappedKey $h ([long]1) 'w'; $h } }
        @{ Name = 'int-and-string'; Make = { $h = @{}; $h[1] = 'one'; $h['1'] = 'w'; $h } }
    ) {
        $path = Join-Path $TestDrive "types-$Name"
        Save-Checkpoint -LiteralPath $path -InputObject @{ inner = (& $Make) } -Step 1 | Out-Null
        $r = (Restore-Checkpoint -LiteralPath $path).inner
        $r.Count | Should -Be 2 -Because 'two keys of different types are two keys, not a collision'
        (@($r.Values) | Sort-Object) -join ',' | Should -Be 'one,w'
    }
    It 'Case_distinct_keys_of_a_case_sensitive_<Name>_copied_for_a_wrapped_value_are_kept_not_called_a_collision' -ForEach @(
        @{ Name = 'hashtable'; Make = { $h = [hashtable]::new(); $h['k1'] = 1; $h['K1'] = 2; $h['w'] = [psobject]::AsPSObject(3); , $h } }
        @{ Name = 'ordered'; Make = { $o = [Collections.Specialized.OrderedDictionary]::new(); $o['k1'] = 1; $o['K1'] = 2; $o['w'] = [psobject]::AsPSObject(3); , $o } }
    ) {
        $path = Join-Path $TestDrive "cs-$Name"
        Save-Checkpoint -LiteralPath $path -InputObject @{ inner = (& $Make) } -Step 1 | Out-Null
        $r = (Restore-Checkpoint -LiteralPath $path).inner
        $r.Count | Should -Be 3
        $r['k1'] | Should -Be 1
        $r['K1'] | Should -Be 2
    }
}
