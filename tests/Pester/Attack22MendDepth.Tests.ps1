# Attack of mend22 (session 22): the conversion's depth cut-off (StateToEngine.ToEngine hands a value past
# CheckpointHandler.MaxStateDepth + 1 over unconverted). The cut-off returns before the memo, so a container first met
# deep has its deep part left raw in its memoized copy; a second, shallow reference to the same container then carries
# those raw PowerShell values to the engine at a depth the engine stores.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Attack mend22: a container shared between a too-deep place and a shallow one' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-m22-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    # On main (67333bc, no cut-off) the -Into copy of the template converted every container, so the engine decoded into
    # copies and the write-back converted the PSCustomObject. With the cut-off, $inner (at conversion depth 202 on the
    # template's first path) is handed to the engine as the user's own hashtable, shared by the shallow path's copy: the
    # engine writes its StateObject straight into the user's hashtable and nothing converts it back.
    It 'A_restore_Into_a_template_sharing_a_hashtable_with_a_201_deep_path_is_refused_and_the_template_left_as_it_was' {
        [ordered]@{ shallow = @{ h = @{ p = [pscustomobject]@{ a = 1 } } } } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $inner = @{}
        $c = @{ h = $inner }
        $chain = @{ c = $c }
        for ($k = 1; $k -lt 200; $k++) { $chain = @{ n = $chain } }
        $template = [ordered]@{ deep = $chain; shallow = $c }

        # Fixed by refusing the template (no step nests deeper than 200 levels, so no step has its shape); the first
        # version of the depth cut-off handed $inner over as the user's own hashtable, and the engine wrote its
        # StateObject into it through 'shallow'.
        $err = $null
        try { $null = Restore-Checkpoint -LiteralPath $script:dir -Step 1 -Into $template } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike '*IncompatibleState*'
        # The first container below the limit: state.deep, 199 .n, then .c at level 201.
        $err.Exception.Message | Should -BeLike "*at item 'state.deep$('.n' * 199).c'*containers nested deeper than 200 levels*"
        $inner.Count | Should -Be 0 -Because 'nothing is written into a template that is refused'
        [object]::ReferenceEquals($template.shallow.h, $inner) | Should -BeTrue
    }

    # The same hashtable under 'deep' (200 hashtables down, so its PSCustomObject lies past the cut-off) and under a
    # shallow key, in a hashtable whose copy (made because of 'x') enumerates in another order than the source (the
    # source grew to 100 keys first): the engine meets the shallow reference first and finds the raw PSObject there. The
    # save is refused either way, but with a lie: "values of type PSObject are not supported" at a path holding an
    # ordinary PSCustomObject, instead of the nesting limit at state.deep... as on main. String hashing is randomized per
    # process, so several key names are tried; in the run that found it 7 of 41 names took the shallow reference first.
    It 'A_save_of_a_state_sharing_a_hashtable_past_the_depth_limit_is_refused_for_its_nesting_not_for_PSObject' {
        $messages = foreach ($i in 0..60) {
            $name = "k$i"
            $c = @{ h = @{ p = [pscustomobject]@{ a = 1 } } }
            $chain = @{ c = $c }
            for ($k = 1; $k -lt 200; $k++) { $chain = @{ n = $chain } }
            $state = @{}
            foreach ($j in 0..99) { $state["t$j"] = 0 }
            $state['deep'] = $chain; $state[$name] = $c; $state['x'] = [pscustomobject]@{ y = 1 }
            foreach ($j in 0..99) { $state.Remove("t$j") }
            try {
                $state | Save-Checkpoint -LiteralPath $script:dir -Step 1 -ErrorAction Stop
                "$name SAVED"
            }
            catch {
                "$name $($_.FullyQualifiedErrorId) $($_.Exception.Message)"
            }
        }

        $wrong = @($messages | Where-Object { $_ -notlike "*UnsupportedValue*The value at 'state.deep$('.n' * 199).c'*nest deeper than 200 levels*" })
        $wrong.Count | Should -Be 0 -Because "every save must be refused for its nesting: $(($wrong | Select-Object -First 2 | ForEach-Object { $_.Substring(0, [Math]::Min(200, $_.Length)) }) -join ' | ')"
        Test-Path -LiteralPath (Join-Path $script:dir '1') | Should -BeFalse
    }
}
