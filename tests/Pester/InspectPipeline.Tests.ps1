# The PowerShell view of pipeline checkpoints: examples/inspect-pipeline.ps1 over checkpoints written by
# the C# example examples/PipelineResume, in a fresh pwsh against the built module.
# Self-contained on purpose (the module suite's TestSupport.ps1 lives on another branch); it honours the
# same DATARAXCKPT_MODULE variable for the module folder.

BeforeAll {
    $RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $ModuleRoot = if ($env:DATARAXCKPT_MODULE) { $env:DATARAXCKPT_MODULE } else { Join-Path $RepoRoot 'out/DataraxCkpt' }
    if (-not (Test-Path (Join-Path $ModuleRoot 'DataraxCkpt.psd1'))) {
        throw "The module is not built at '$ModuleRoot'; run ./build.ps1 -Task Build first."
    }

    $Script = Join-Path $RepoRoot 'examples/inspect-pipeline.ps1'
    $Project = Join-Path $RepoRoot 'examples/PipelineResume/PipelineResume.csproj'
    dotnet build $Project --nologo --verbosity quiet | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "Building $Project failed." }
    $Dll = Get-ChildItem -Path (Join-Path $RepoRoot 'examples/PipelineResume/bin/*/net10.0/PipelineResume.dll') |
        Sort-Object LastWriteTime -Descending | Select-Object -First 1

    # Runs the script in a new pwsh and returns its rows, as JSON, so that module loading is honest.
    function Invoke-Inspect([string] $Arguments) {
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        $command = "& '$Script' $Arguments | Select-Object Step, Epoch, Position, KeyImpl, KeyData, Batches, Hash | ConvertTo-Json -AsArray"
        $output = if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') {
            & ([Environment]::ProcessPath) $pwshDll -NoProfile -NonInteractive -Command $command 2>&1
        }
        else {
            & ([Environment]::ProcessPath) -NoProfile -NonInteractive -Command $command 2>&1
        }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        ($output -join "`n") | ConvertFrom-Json
    }
}

Describe 'inspect-pipeline.ps1' {
    BeforeAll {
        $Store = Join-Path $TestDrive 'run'
        $printed = & dotnet $Dll.FullName $Store --records 1000 --batch-size 32 --seed 42 --batches 45 --every 10 --keep 3
        $LASTEXITCODE | Should -Be 0
        $HashAt40 = (($printed | Where-Object { $_ -like 'batch 40 *' }) -split ' ')[-1]
    }

    It 'shows step, epoch, position, key and hash of every kept checkpoint' {
        $rows = Invoke-Inspect "-Path '$Store' -ModulePath '$ModuleRoot'"

        $rows.Step | Should -Be @(20, 30, 40)
        # 1000 records in batches of 32: 32 batches per epoch, the last of 8 records.
        $rows.Epoch | Should -Be @(0, 0, 1)
        $rows.Position | Should -Be @(640, 960, 256)
        $rows.KeyImpl | Should -Be @('threefry2x32', 'threefry2x32', 'threefry2x32')
        $rows.KeyData | Should -Be @('[0, 42]', '[0, 42]', '[0, 42]')
        $rows.Batches | Should -Be @(20, 30, 40)
        $rows[2].Hash | Should -Be $HashAt40
    }

    It 'shows one step with -Step' {
        $rows = @(Invoke-Inspect "-Path '$Store' -ModulePath '$(Join-Path $ModuleRoot 'DataraxCkpt.psd1')' -Step 30")

        $rows.Count | Should -Be 1
        $rows[0].Epoch | Should -Be 0
        $rows[0].Position | Should -Be 960
    }

    It 'runs on its own demonstration store when no path is given, like the other examples' {
        $rows = Invoke-Inspect "-ModuleRoot '$ModuleRoot'"

        $rows.Step | Should -Be @(20, 30, 40)
        $rows.Position | Should -Be @(640, 960, 256)
    }
}
