# build/Azurite.ps1: the emulator the remote tests, examples and benchmarks run against (issue 14).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    . (Join-Path $RepoRoot 'build/Azurite.ps1')
    $script:AzuriteSource = Join-Path $RepoRoot 'build/azurite'
    $script:AzuriteRoot = Join-Path $RepoRoot 'tools/azurite'
}

Describe 'Invoke-WithAzurite' {
    It 'exports a connection string Azurite answers on, then stops it and deletes its location when the task throws' {
        $seen = @{}
        $variable = $env:DATARAXCKPT_TEST_AZURITE
        { Invoke-WithAzurite -SourceRoot $AzuriteSource -InstallRoot $AzuriteRoot -Task {
                param($azurite)
                $seen.Connection = $env:DATARAXCKPT_TEST_AZURITE
                $seen.Location = $azurite.Location
                $seen.LocationExisted = Test-Path -LiteralPath $azurite.Location
                $seen.Port = [int][regex]::Match($env:DATARAXCKPT_TEST_AZURITE, 'BlobEndpoint=http://127\.0\.0\.1:(\d+)/devstoreaccount1').Groups[1].Value
                $seen.Answered = Test-AzuriteAnswers $seen.Port
                throw 'task failed'
            } } | Should -Throw 'task failed'

        $seen.LocationExisted | Should -BeTrue
        $seen.Answered | Should -BeTrue
        $seen.Connection | Should -Match '^DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=[^;]+;BlobEndpoint=http://127\.0\.0\.1:\d+/devstoreaccount1;$'
        Test-AzuriteAnswers $seen.Port | Should -BeFalse -Because 'Azurite is stopped after the task'
        Test-Path -LiteralPath $seen.Location | Should -BeFalse -Because 'its temporary location is deleted'
        $env:DATARAXCKPT_TEST_AZURITE | Should -Be $variable -Because 'the variable is restored'
    }

    It 'passes the task''s result through' {
        Invoke-WithAzurite -SourceRoot $AzuriteSource -InstallRoot $AzuriteRoot -Task { 42 } | Select-Object -Last 1 | Should -Be 42
    }

    It 'starts Azurite with telemetry disabled (3.35 otherwise tries to reach Application Insights)' {
        Install-Azurite -SourceRoot $AzuriteSource -InstallRoot $AzuriteRoot | Out-Null
        $handle = Start-Azurite -InstallRoot $AzuriteRoot
        try {
            $commandLine = (Get-Process -Id $handle.Process.Id).CommandLine
            $commandLine | Should -Match '--blobPort'
            $commandLine | Should -Match '(^|\s)--disableTelemetry(\s|$)'
        }
        finally { Stop-Azurite $handle }
    }

    It 'fails with a clear message when node or npm is missing' {
        $saved = $env:PATH
        $env:PATH = Join-Path $TestDrive 'empty-path'
        try {
            { Install-Azurite -SourceRoot $AzuriteSource -InstallRoot (Join-Path $TestDrive 'azurite') } |
                Should -Throw '*is not installed: the tests of remote (az://) locations run against Azurite*Install Node.js*'
        }
        finally { $env:PATH = $saved }
    }

    It 'installs nothing when tools/azurite was installed from the committed lock' {
        (Get-FileHash (Join-Path $AzuriteSource 'package-lock.json')).Hash | Should -Be (Get-FileHash (Join-Path $AzuriteRoot 'package-lock.json')).Hash
        Install-Azurite -SourceRoot $AzuriteSource -InstallRoot $AzuriteRoot 6>&1 | Out-String | Should -Not -Match 'npm ci'
    }
}
