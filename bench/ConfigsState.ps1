# The configs state of scenario (e): hashtables of a name, a learning rate, a three-string tags array and a bool, what a
# PowerShell user builds for per-layer settings. Dot-sourced by bench/module-states.ps1 and bench/module-lifetime.ps1.
function New-ConfigsState([int] $Count) {
    $state = @{}
    for ($i = 0; $i -lt $Count; $i++) {
        $state["layer$i"] = @{ name = "layer$i"; lr = 0.001 * ($i + 1); tags = @('conv', "block$($i % 10)", 'trainable'); enabled = ($i % 3 -ne 0) }
    }
    $state
}
