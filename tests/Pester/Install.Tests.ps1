# The module installs as users install modules: build.ps1 -Task Package publishes a .nupkg with
# Publish-PSResource to a local folder repository; Install-PSResource installs it into a fresh pwsh's
# own (temporary) module path, and the quickstart runs from the installed copy (issue 11, item 12).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    $script:Repository = Join-Path $TestDrive 'repository'
    $script:UserData = Join-Path $TestDrive 'userdata'
    New-Item -ItemType Directory -Path $Repository, $UserData | Out-Null
    # A fresh user: PSResourceGet installs CurrentUser modules under HOME/.local/share/powershell/Modules
    # (Documents\PowerShell\Modules on Windows), pwsh lists XDG_DATA_HOME/powershell/Modules, and both
    # keep their repository list in the per-user data folder.
    $script:FreshUser = @{
        HOME = $UserData; USERPROFILE = $UserData
        XDG_DATA_HOME = (Join-Path $UserData '.local/share'); LOCALAPPDATA = (Join-Path $UserData 'AppData/Local')
    }
    # They must exist: .NET answers an empty per-user data folder for a missing one, and PSResourceGet
    # would then keep its repository list in the working folder, shared between runs.
    New-Item -ItemType Directory -Path $FreshUser.XDG_DATA_HOME, $FreshUser.LOCALAPPDATA | Out-Null
    # The package of the module under test, published as build.ps1 -Task Package does (a fresh pwsh whose
    # per-user data folder is temporary, so no real repository list is touched).
    $publish = Invoke-FreshPwsh -Environment $FreshUser -Script @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name DataraxCkptTest -Uri '$Repository' -Trusted
Publish-PSResource -Path '$ModuleRoot' -Repository DataraxCkptTest
'published'
"@
    if ($publish.ExitCode -ne 0) { throw "Publish-PSResource failed: $($publish.Output -join "`n")" }
}

Describe 'Installing the published package' {
    It 'publishes one DataraxCkpt .nupkg carrying the license, the manifest metadata and only the supported native libraries' {
        $package = @(Get-ChildItem -LiteralPath $Repository -Filter 'DataraxCkpt.*.nupkg')
        $package.Count | Should -Be 1
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead($package[0].FullName)
        try {
            $names = @($zip.Entries.FullName)
            $nuspec = [IO.StreamReader]::new(($zip.Entries | Where-Object FullName -eq 'DataraxCkpt.nuspec').Open()).ReadToEnd()
        }
        finally {
            $zip.Dispose()
        }
        $names | Should -Contain 'LICENSE'
        $names | Should -Contain 'DataraxCkpt.Types.dll'
        $names | Should -Contain 'lib/DataraxCkpt.Engine.dll'
        $rids = $names | Where-Object { $_ -match '^lib/runtimes/([^/]+)/native/' } | ForEach-Object { ($_ -split '/')[2] } | Sort-Object -Unique
        $rids | Should -Be @('linux-arm', 'linux-arm64', 'linux-musl-arm64', 'linux-musl-x64', 'linux-x64', 'osx-arm64', 'osx-x64', 'win-arm64', 'win-x64', 'win-x86')
        # Managed per-OS assemblies (the Azure SDK's ProtectedData for Windows) ship under the portable RID only.
        $managed = $names | Where-Object { $_ -match '^lib/runtimes/([^/]+)/lib/' } | ForEach-Object { ($_ -split '/')[2] } | Sort-Object -Unique
        $managed | Should -Be @('win')
        $nuspec | Should -Match '<projectUrl>https://'
        $nuspec | Should -Match '<licenseUrl>https://'
        $nuspec | Should -Match '<releaseNotes>.+</releaseNotes>'
        $nuspec | Should -Match 'PSEdition_Core'
    }

    It 'lists in the engine deps.json exactly the native libraries that ship' {
        $deps = Get-Content -Raw (Join-Path $ModuleRoot 'lib/DataraxCkpt.Engine.deps.json') | ConvertFrom-Json -AsHashtable
        $listed = foreach ($target in $deps.targets.Values) {
            foreach ($library in $target.Values) {
                if ($library.ContainsKey('runtimeTargets')) { $library.runtimeTargets.Keys }
            }
        }
        $shipped = Get-ChildItem -LiteralPath (Join-Path $ModuleRoot 'lib/runtimes') -Recurse -File |
            ForEach-Object { [IO.Path]::GetRelativePath((Join-Path $ModuleRoot 'lib'), $_.FullName) -replace '\\', '/' }
        ($listed | Sort-Object) | Should -Be ($shipped | Sort-Object)
    }

    It 'installs with Install-PSResource into a fresh module path and runs the quickstart from the installed copy' {
        $result = Invoke-FreshPwsh -Environment $FreshUser -Script @"
`$ErrorActionPreference = 'Stop'
Install-PSResource -Name DataraxCkpt -Repository DataraxCkptTest -Scope CurrentUser -TrustRepository
`$installed = Get-Module -ListAvailable DataraxCkpt
'installed under data folder=' + `$installed.ModuleBase.StartsWith('$UserData')
'installed version=' + `$installed.Version
& '$(Join-Path $RepoRoot 'examples/quickstart.ps1')' -ModuleRoot `$installed.ModuleBase | Out-Null
'loaded from=' + ((Get-Module DataraxCkpt).ModuleBase -eq `$installed.ModuleBase)
'key=' + [DataraxCkpt.PrngKey]::Create(1)
"@
        $result.Output | Should -Contain 'installed under data folder=True'
        @(Get-ChildItem -LiteralPath $UserData -Recurse -Force -Filter 'PSResourceRepository.xml').Count | Should -Be 1
        $result.Output | Should -Contain 'installed version=0.1.0'
        $result.Output | Should -Contain 'loaded from=True'
        $result.Output | Should -Contain 'key=PrngKey(threefry2x32: [0, 1])'
        $result.ExitCode | Should -Be 0
    }
}
