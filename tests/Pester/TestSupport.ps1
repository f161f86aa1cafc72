# Dot-sourced by every test file's BeforeAll: where the built module is, and how to run a fresh pwsh.

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
$script:ModuleRoot = if ($env:DATARAXCKPT_MODULE) { $env:DATARAXCKPT_MODULE } else { Join-Path $RepoRoot 'out/DataraxCkpt' }
$script:ModuleManifest = Join-Path $ModuleRoot 'DataraxCkpt.psd1'
$script:ToolPackages = if ($env:DATARAXCKPT_TOOLS) { $env:DATARAXCKPT_TOOLS } else { Join-Path $RepoRoot 'tools/packages' }

if (-not (Test-Path $ModuleManifest)) {
    throw "The module is not built at '$ModuleRoot'; run ./build.ps1 -Task Build first."
}

function Invoke-FreshPwsh {
    <#
    Runs a script in a new pwsh process (the pwsh running the tests, started anew) and returns its
    output lines and exit code. Fresh processes are the only honest test of module loading: a failed
    static constructor or an already loaded assembly would otherwise hide packaging faults.
    #>
    param(
        [Parameter(Mandatory)] [string] $Script,
        [string] $WorkingDirectory = [IO.Path]::GetTempPath(),
        [hashtable] $Environment = @{}
    )
    $scriptFile = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-" + [guid]::NewGuid().ToString('N') + '.ps1')
    Set-Content -LiteralPath $scriptFile -Value $Script
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    Push-Location -LiteralPath $WorkingDirectory
    try {
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        $output = if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') {
            & ([Environment]::ProcessPath) $pwshDll -NoProfile -NonInteractive -File $scriptFile 2>&1
        }
        else {
            & ([Environment]::ProcessPath) -NoProfile -NonInteractive -File $scriptFile 2>&1
        }
        [pscustomobject]@{ Output = @($output | ForEach-Object { "$_" -replace '\x1b\[[0-9;?]*[A-Za-z]', '' }); ExitCode = $LASTEXITCODE }
    }
    finally {
        Pop-Location
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        Remove-Item -LiteralPath $scriptFile -ErrorAction Ignore
    }
}

function Get-EngineType([string] $Name) {
    # Engine internals live in the module's private load context, so PowerShell cannot name them as
    # [DataraxCkpt.X]; tests reach them through that context's assembly. The user-facing types
    # (DataraxCkpt.Types, default context) are found the same way.
    $assemblies = [System.Runtime.Loader.AssemblyLoadContext]::All.Assemblies |
        Where-Object { $_.GetName().Name -in 'DataraxCkpt.Types', 'DataraxCkpt.Engine' }
    if (-not ($assemblies | Where-Object { $_.GetName().Name -eq 'DataraxCkpt.Engine' })) { throw 'The engine is not loaded yet; call any DataraxCkpt cmdlet first.' }
    $type = $assemblies | ForEach-Object { $_.GetType($Name, $false) } | Where-Object { $_ } | Select-Object -First 1
    if (-not $type) { throw "Type '$Name' is in neither DataraxCkpt.Types nor DataraxCkpt.Engine." }
    $type
}

function Invoke-WithProgress([scriptblock] $Script, [object[]] $Arguments) {
    # A nested PowerShell keeps every progress record in its Progress stream, where a test can read them.
    $ps = [powershell]::Create()
    try {
        $null = $ps.AddScript("Import-Module '$ModuleManifest'; `$ProgressPreference = 'Continue'").AddStatement()
        $null = $ps.AddScript($Script.ToString())
        foreach ($a in $Arguments) { $null = $ps.AddArgument($a) }
        $output = $ps.Invoke()
        if ($ps.Streams.Error.Count -gt 0) { throw $ps.Streams.Error[0] }
        [pscustomobject]@{ Output = $output; Progress = @($ps.Streams.Progress) }
    }
    finally {
        $ps.Dispose()
    }
}
