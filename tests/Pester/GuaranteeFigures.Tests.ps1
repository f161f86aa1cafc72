# Issue 13: every figure of docs/guarantees.md comes from a run. The committed doc must be exactly what
# build/Update-GuaranteeFigures.ps1 renders from the committed artifact (docs/figures/guarantees.txt) and
# the committed mutation scores, so a hand-edited figure, or a run's figures not rendered, fails here.
# Both inputs are committed, so a fresh clone is consistent without running anything first.

BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $script:Renderer = Join-Path $Repo 'build/Update-GuaranteeFigures.ps1'
}

Describe 'docs/guarantees.md figures' {
    It 'agree with the committed figures of the last run and the mutation scores' {
        { & $Renderer -Check } | Should -Not -Throw
    }

    It 'fail the check when a rendered figure is edited by hand' {
        $doc = Join-Path $TestDrive 'guarantees.md'
        $text = Get-Content -Raw -LiteralPath (Join-Path $Repo 'docs/guarantees.md')
        $begin = $text.IndexOf('<!-- figures:guarantee-6 -->')
        $begin | Should -BeGreaterThan 0
        # A figure typed into the block by hand.
        $edited = $text.Insert($begin + '<!-- figures:guarantee-6 -->'.Length, "`n- hand-typed: **112 tests**")
        Set-Content -LiteralPath $doc -Value $edited -NoNewline
        { & $Renderer -Check -DocPath $doc } | Should -Throw '*differs from its figures*'
    }

    It 'every figure line in the artifact comes from a guarantee, the run or the mutation run' {
        $lines = @(Get-Content -LiteralPath (Join-Path $Repo 'docs/figures/guarantees.txt'))
        $lines.Count | Should -BeGreaterThan 0
        $lines | ForEach-Object { $_ | Should -Match '^FIGURE (guarantee [1-8]|run) \| [^|]+ \| .+$' }
    }
}
