# Every example in the cmdlets' help runs, against a fixture store laid out like the examples assume:
# ./ck with steps 10, 20, 50, 100, 200, 4200 (params/linear/kernel, metadata) and ./runs/a, ./runs/b.

BeforeDiscovery {
    $sources = Join-Path $PSScriptRoot '../../docs/help'
    $examples = foreach ($file in Get-ChildItem -LiteralPath $sources -Filter '*-*.md') {
        $name = $file.BaseName
        $title = $null; $code = $null; $inFence = $false
        foreach ($line in Get-Content -LiteralPath $file.FullName) {
            if ($inFence) {
                if ($line -match '^```') { $inFence = $false; @{ Cmdlet = $name; Title = $title; Code = $code.ToString() } }
                else { [void]$code.AppendLine($line) }
            }
            elseif ($line -match '^### (.+)$') { $title = $Matches[1] }
            elseif ($line -match '^```powershell') { $inFence = $true; $code = [System.Text.StringBuilder]::new() }
        }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function New-ExampleFixture([string] $Root, [bool] $Empty) {
        New-Item -ItemType Directory -Path $Root | Out-Null
        if ($Empty) { return }
        $kernel = [float[,]]::new(8, 4)
        foreach ($step in 10, 20, 50, 100, 200, 4200) {
            $kernel[0, 0] = $step
            $meta = @{ description = "step $step" }
            if ($step -eq 4200) { $meta.release = 'v1' }
            [ordered]@{ params = [ordered]@{ linear = [ordered]@{ kernel = $kernel } }; position = 42 } |
                Save-Checkpoint (Join-Path $Root 'ck') -Step $step -Metadata $meta
        }
        foreach ($run in 'a', 'b') {
            foreach ($step in 1..7) { @{ s = $step } | Save-Checkpoint (Join-Path $Root "runs/$run") -Step $step }
        }
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Help example of <Cmdlet>: <Title>' -ForEach $examples {
    It 'runs without error' {
        $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-ExampleFixture $root ($Cmdlet -eq 'Save-Checkpoint')
        Push-Location -LiteralPath $root
        try {
            $ErrorActionPreference = 'Stop'
            $null = & ([scriptblock]::Create($Code)) 3>$null
        }
        finally {
            $ErrorActionPreference = 'Continue'
            Pop-Location
        }
    }
}
