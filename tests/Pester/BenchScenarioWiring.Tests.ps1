# bench/run-all.ps1 runs each scenario as `dotnet DataraxCkpt.Bench.dll <scenario>`; the program refuses a name it does
# not know (exit 2, and the report shows the scenario as failed) and, before session 16, ran (f) for any name it accepted
# but had no arm for. Nothing held the two lists together: a scenario added to the program only was never run by the
# bench, one added to run-all only failed at the end of a quarter-hour run.

BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $script:Program = Get-Content -Raw -LiteralPath (Join-Path $Repo 'bench/DataraxCkpt.Bench/Program.cs')
    $ast = [Management.Automation.Language.Parser]::ParseFile((Join-Path $Repo 'bench/run-all.ps1'), [ref] $null, [ref] $null)
    $script:RunAllParams = $ast.ParamBlock.Parameters
    function script:Get-ParamDefault([string] $Name) {
        $p = $RunAllParams | Where-Object { $_.Name.VariablePath.UserPath -eq $Name }
        $p.DefaultValue.SafeGetValue()
    }
}

Describe 'bench scenario wiring' {
    It 'run-all.ps1 runs by default exactly the scenarios the bench program accepts' {
        $Program -match 'string\[\] scenarioNames = \[([^\]]*)\];' | Should -BeTrue -Because 'Program.cs keeps its scenarios in one list'
        $accepted = @([regex]::Matches($Matches[1], '"([^"]+)"') | ForEach-Object { $_.Groups[1].Value })
        $accepted.Count | Should -BeGreaterThan 5
        $default = @(Get-ParamDefault 'Scenarios')
        ($default | Sort-Object) -join ',' | Should -BeExactly (($accepted | Sort-Object) -join ',')
    }

    It 'every accepted scenario has its own arm in the program''s switch, and the switch runs nothing else' {
        $null = $Program -match 'string\[\] scenarioNames = \[([^\]]*)\];'
        $accepted = @([regex]::Matches($Matches[1], '"([^"]+)"') | ForEach-Object { $_.Groups[1].Value })
        $switch = [regex]::Match($Program, '(?s)var report = scenario switch\s*\{(.*?)\};').Groups[1].Value
        $arms = @([regex]::Matches($switch, '(?m)^\s*"([^"]+)"\s*=>') | ForEach-Object { $_.Groups[1].Value })
        ($arms | Sort-Object) -join ',' | Should -BeExactly (($accepted | Sort-Object) -join ',')
        # The default arm refuses: an accepted name without an arm is an error, not another scenario's figures.
        $switch | Should -Match '(?m)^\s*_ => throw '
    }
}
