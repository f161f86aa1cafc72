# Attack of typedlists22 (session 22): typed lists and arrays walked by the conversions.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Attack typedlists22: steps with typed lists and no PSCustomObject restore as main restored them' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a22-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    # Checked against a build of 67333bc (main): it restores every one of these as Dictionary[string,int]; typedlists22
    # turns each into an OrderedDictionary. No PSCustomObject is in the state, so the step's bytes are the same as main's.
    It 'A_Dictionary_string_int_inside_typed_lists_restores_as_itself_as_on_main' {
        $di = [System.Collections.Generic.Dictionary[string, int]]::new(); $di['x'] = 1
        $dobj = [System.Collections.Generic.Dictionary[string, object]]::new(); $dobj['y'] = $di
        $dd = [System.Collections.Generic.Dictionary[string, object][]]::new(1); $dd[0] = $dobj
        $ll = [System.Collections.Generic.List[hashtable]]::new(); $ll.Add(@{ d = $di })
        $state = @{ h = [hashtable[]]@(@{ d = $di }); dd = $dd; ll = $ll; jag = [object[][]]@(, [object[]]@($di)) }
        $state | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $dictType = [System.Collections.Generic.Dictionary[string, int]]
        $r.h[0].d.GetType() | Should -Be $dictType -Because 'main restored state.h[0].d as a Dictionary[string,int]'
        $r.dd[0]['y'].GetType() | Should -Be $dictType -Because 'main restored state.dd[0].y as a Dictionary[string,int]'
        $r.ll[0].d.GetType() | Should -Be $dictType -Because 'main restored state.ll[0].d as a Dictionary[string,int]'
        $r.jag[0][0].GetType() | Should -Be $dictType -Because 'main restored state.jag[0][0] as a Dictionary[string,int]'
    }
}

Describe 'Attack typedlists22: very deep typed-array nesting is refused, not a stack overflow' {
    # main (67333bc) refused this state with UnsupportedValue ('containers nest deeper than 200 levels'): the [hashtable[]]
    # was handed to the engine unwalked. typedlists22 walks it recursively and the process dies of a stack overflow
    # (8,000 levels; nested plain hashtables already overflowed on main at 20,000, which this does not cover).
    It 'A_hashtable_array_nested_8000_deep_without_PSCustomObject_is_refused_with_UnsupportedValue' {
        $dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a22d-" + [guid]::NewGuid().ToString('N'))
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$x = 1
for (`$k = 0; `$k -lt 8000; `$k++) { `$x = [hashtable[]]@(@{ n = `$x }) }
try { @{ d = `$x } | Save-Checkpoint -LiteralPath '$dir' -Step 1; 'SAVED' } catch { 'REFUSED ' + `$_.FullyQualifiedErrorId }
"@
        try {
            $run = Invoke-FreshPwsh -Script $script
            $out = $run.Output -join "`n"
            $run.ExitCode | Should -Be 0 -Because "the save must not kill the process: $($out.Substring(0, [Math]::Min(300, $out.Length)))"
            $out | Should -BeLike '*REFUSED UnsupportedValue*'
        }
        finally {
            Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction Ignore
        }
    }

    # Found with the attack above: plain hashtables nested 20,000 deep overflowed the conversion's stack on main too.
    It 'A_plain_hashtable_nested_20000_deep_is_refused_with_UnsupportedValue_not_a_stack_overflow' {
        $dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a22p-" + [guid]::NewGuid().ToString('N'))
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$x = 1
for (`$k = 0; `$k -lt 20000; `$k++) { `$x = @{ n = `$x } }
try { @{ d = `$x } | Save-Checkpoint -LiteralPath '$dir' -Step 1; 'SAVED' } catch { 'REFUSED ' + `$_.FullyQualifiedErrorId + ' ' + `$_.Exception.Message }
"@
        try {
            $run = Invoke-FreshPwsh -Script $script
            $out = $run.Output -join "`n"
            $run.ExitCode | Should -Be 0 -Because "the save must not kill the process: $($out.Substring(0, [Math]::Min(300, $out.Length)))"
            $out | Should -BeLike '*REFUSED UnsupportedValue*nest deeper than 200 levels*'
            Test-Path -LiteralPath (Join-Path $dir '1') | Should -BeFalse
        }
        finally {
            Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction Ignore
        }
    }
}
