# How names-5d94c78 was made: the engine of commit 5d94c78 (built from `git archive 5d94c78 src`), loaded in pwsh.
# Its item names follow the grammar before issue 10 item 6: integer key 1 is "1", the empty key at the top is ".".
Add-Type -Path /tmp/a10old/run/DataraxCkpt.Engine.dll
$h = [DataraxCkpt.CheckpointHandler]::new()
$state = [System.Collections.Generic.Dictionary[string,object]]::new()
$layers = [hashtable]::new()
$layers[0] = [double]1.5
$layers[1] = [double]2.5
$state['layers'] = $layers
$state[''] = [double]7
$h.Save('/tmp/a10old/ck', $state, [long]0, $null, $false, $null) | Out-Null
$layers[1] = [double]3.5
$h.Save('/tmp/a10old/ck', $state, [long]1, $null, $false, $null) | Out-Null
$h.GetItems('/tmp/a10old/ck', 0) | % Name
