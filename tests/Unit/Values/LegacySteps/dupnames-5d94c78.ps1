# How dupnames-5d94c78 was made: the engine of commit 5d94c78 (built from `git archive 5d94c78 src`), loaded in pwsh.
# Before issue 10 item 6 the empty key and the key x gave two items named "x".
Add-Type -Path /tmp/a10old/run/DataraxCkpt.Engine.dll
$h = [DataraxCkpt.CheckpointHandler]::new()
$inner = [System.Collections.Generic.Dictionary[string,object]]::new()
$inner['x'] = [double]1
$state = [System.Collections.Generic.Dictionary[string,object]]::new()
$state[''] = $inner
$state['x'] = [double]2
$h.Save('/tmp/a10old/dup', $state, [long]0, $null, $false, $null) | Out-Null
$state['x'] = [double]3
$h.Save('/tmp/a10old/dup', $state, [long]1, $null, $false, $null) | Out-Null
$h.GetItems('/tmp/a10old/dup', 0) | % Name
