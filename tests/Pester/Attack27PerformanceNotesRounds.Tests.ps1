# Attack 27: the change cited "docs/performance-notes.md, round 72" from the bench's sources and from text rendered into
# docs/benchmarks.md, but performance-notes.md had no round 72. Every such citation must name a round the notes have.

Describe 'Attack27: citations of docs/performance-notes.md rounds' {
    It 'Attack27 names only rounds that docs/performance-notes.md has' {
        $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
        $notes = Get-Content -Raw (Join-Path $repo 'docs/performance-notes.md')
        $rounds = @([regex]::Matches($notes, '(?m)^## Round (\d+)\b') | ForEach-Object { [int]$_.Groups[1].Value })
        $files = @(Get-ChildItem (Join-Path $repo 'bench'), (Join-Path $repo 'docs') -Recurse -File -Include *.ps1, *.cs, *.md)
        $missing = foreach ($f in $files) {
            $text = Get-Content -Raw $f.FullName
            foreach ($m in [regex]::Matches($text, 'performance-notes\.md,?\s+(?:\S+\s+)?rounds?\s+(\d+)')) {
                $n = [int]$m.Groups[1].Value
                if ($n -notin $rounds) { "$($f.Name): round $n" }
            }
        }
        @($missing | Select-Object -Unique) | Should -BeNullOrEmpty
    }
}
