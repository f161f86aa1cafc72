# Attack 28: bench/CrashSafeJson.ps1's Save-JsonCrashSafe on the paths a pwsh user passes. Set-Content -LiteralPath
# resolves a path against PowerShell's location, [IO.File] against the process's working directory, which
# Set-Location does not move: a baseline that writes its temporary file in one place and flushes and renames
# in another is neither what it says nor crash-safe.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    . (Join-Path $RepoRoot 'bench/CrashSafeJson.ps1')
}

Describe 'Attack28 Save-JsonCrashSafe paths' {
    It 'Attack28 saves to a path relative to the PowerShell location, not the process''s working directory' {
        $folder = Join-Path $TestDrive 'rel [1] dir'
        $null = New-Item -ItemType Directory -Path $folder
        $processDir = [Environment]::CurrentDirectory
        Push-Location -LiteralPath $folder
        try { Save-JsonCrashSafe @{ a = 1 } 'state.json' }
        finally { Pop-Location }
        (Get-Content -Raw -LiteralPath (Join-Path $folder 'state.json') | ConvertFrom-Json -AsHashtable).a | Should -Be 1
        @(Get-ChildItem -LiteralPath $folder -Name) | Should -Be @('state.json')
        Test-Path -LiteralPath (Join-Path $processDir 'state.json') | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $processDir 'state.json.tmp') | Should -BeFalse
    }

    It 'Attack28 saves to a path on a PowerShell drive' {
        $null = New-PSDrive -Name Attack28Drive -PSProvider FileSystem -Root $TestDrive
        try { Save-JsonCrashSafe @{ b = 2 } 'Attack28Drive:/drive.json' }
        finally { Remove-PSDrive -Name Attack28Drive }
        (Get-Content -Raw -LiteralPath (Join-Path $TestDrive 'drive.json') | ConvertFrom-Json -AsHashtable).b | Should -Be 2
        Test-Path -LiteralPath (Join-Path $TestDrive 'drive.json.tmp') | Should -BeFalse
    }

    It 'Attack28 never renames a stale temporary file of the process''s working directory into place' {
        $folder = Join-Path $TestDrive 'here'
        $null = New-Item -ItemType Directory -Path $folder
        $processDir = Join-Path $TestDrive 'process cwd'
        $null = New-Item -ItemType Directory -Path $processDir
        Set-Content -LiteralPath (Join-Path $processDir 'state.json.tmp') -Value '{"stale": true}'
        $saved = [Environment]::CurrentDirectory
        [Environment]::CurrentDirectory = $processDir
        Push-Location -LiteralPath $folder
        try { try { Save-JsonCrashSafe @{ fresh = 1 } 'state.json' } catch { } }
        finally { Pop-Location; [Environment]::CurrentDirectory = $saved }
        Test-Path -LiteralPath (Join-Path $processDir 'state.json') | Should -BeFalse -Because 'a stale file elsewhere is not the state'
        (Get-Content -Raw -LiteralPath (Join-Path $folder 'state.json') | ConvertFrom-Json -AsHashtable).fresh | Should -Be 1
    }
}
