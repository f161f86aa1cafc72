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

function Get-TestAzurite {
    <#
    The Azurite that build.ps1 started for this run (DATARAXCKPT_TEST_AZURITE, its connection string), as the
    connection string, blob endpoint, account and key. Never a skip: without it the remote tests fail and say
    how to start it.
    #>
    $connection = $env:DATARAXCKPT_TEST_AZURITE
    if (-not $connection) {
        throw 'DATARAXCKPT_TEST_AZURITE is not set: run the tests through ./build.ps1 -Task Test, which starts Azurite, or start it yourself: . ./build/Azurite.ps1; $a = Start-Azurite -InstallRoot tools/azurite; $env:DATARAXCKPT_TEST_AZURITE = $a.ConnectionString.'
    }
    $parts = @{}
    foreach ($part in $connection -split ';' | Where-Object { $_ -match '=' }) {
        $eq = $part.IndexOf('=')
        $parts[$part.Substring(0, $eq)] = $part.Substring($eq + 1)
    }
    [pscustomobject]@{
        ConnectionString = $connection
        BlobEndpoint = $parts['BlobEndpoint'].TrimEnd('/')
        Account = $parts['AccountName']
        Key = $parts['AccountKey']
    }
}

function New-AzuriteAccountSas {
    # An account SAS for the blob service (read, add, create, write, delete, list; all resource types), signed
    # with the account key as the storage service defines it, so that a test can use a SAS URL.
    param([Parameter(Mandatory)] $Azurite, [string] $Permissions = 'racwdl')
    $version = '2021-08-06'
    $expiry = [DateTime]::UtcNow.AddHours(2).ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
    $toSign = "$($Azurite.Account)`n$Permissions`nb`nsco`n`n$expiry`n`nhttps,http`n$version`n`n"
    $hmac = [Security.Cryptography.HMACSHA256]::new([Convert]::FromBase64String($Azurite.Key))
    try { $signature = [Convert]::ToBase64String($hmac.ComputeHash([Text.Encoding]::UTF8.GetBytes($toSign))) }
    finally { $hmac.Dispose() }
    "sv=$version&ss=b&srt=sco&sp=$Permissions&se=$([uri]::EscapeDataString($expiry))&spr=https,http&sig=$([uri]::EscapeDataString($signature))"
}

function Invoke-ModuleScenario([string] $Body, [string] $Prelude = '') {
    <#
    Runs $Body (after $Prelude, for class definitions) in a fresh pwsh that has imported the built module, with
    errors stopping it, $TestDrive as its location and $ck a new checkpoint path there; asserts that it exited 0
    and returns its output lines.
    #>
    $result = Invoke-FreshPwsh -WorkingDirectory $TestDrive -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
Set-Location -LiteralPath '$TestDrive'
`$ck = Join-Path '$TestDrive' ([guid]::NewGuid().ToString('N'))
$Prelude
$Body
"@
    $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
    $result.Output
}
