#requires -Version 7.4
<#
.SYNOPSIS
    Turns the readable help sources (docs/help/*.md) into the module's MAML help and about topic.

.DESCRIPTION
    Run by build.ps1 in a fresh pwsh. Syntax, parameter types, positions and pipeline binding come from
    the built cmdlets themselves (so they can never drift); synopsis, description, parameter texts and
    examples come from one markdown file per cmdlet:

        # Verb-Noun
        ## SYNOPSIS / ## DESCRIPTION / ## NOTES   free text
        ## INPUTS / ## OUTPUTS   blocks separated by blank lines: a type name line, then its text
        ## RELATED LINKS   "- Name" lines (the cmdlet's HelpUri comes first, for Get-Help -Online)
        ## PARAMETERS   then one "### -Name" per parameter, free text below it
        ## EXAMPLES     then one "### Title" per example: a ```powershell fence, then remarks
#>
param(
    [Parameter(Mandatory)] [string] $ModuleRoot,
    [Parameter(Mandatory)] [string] $HelpSource,
    [Parameter(Mandatory)] [string] $Destination
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$commonParameters = [System.Management.Automation.Internal.CommonParameters].GetProperties().Name
$shouldProcessText = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}

function Read-HelpSource([string] $Path) {
    # Returns @{ Sections = @{ NAME = text }; Parameters = [ordered]@{ name = text }; Examples = @(@{ Title; Code; Remarks }) }
    $sections = @{}
    $parameters = [ordered]@{}
    $examples = [System.Collections.Generic.List[hashtable]]::new()
    $section = $null; $sub = $null; $buffer = [System.Text.StringBuilder]::new()
    $inFence = $false; $code = $null

    $flush = {
        $text = $buffer.ToString().Trim()
        if ($section -eq 'PARAMETERS' -and $sub) { $parameters[$sub] = $text }
        elseif ($section -eq 'EXAMPLES' -and $sub) { $examples[$examples.Count - 1].Remarks = $text }
        elseif ($section -and -not $sub) { $sections[$section] = $text }
        [void]$buffer.Clear()
    }

    foreach ($line in Get-Content -LiteralPath $Path) {
        if ($inFence) {
            if ($line -match '^```') { $inFence = $false; $examples[$examples.Count - 1].Code = $code.ToString().TrimEnd() }
            else { [void]$code.AppendLine($line) }
            continue
        }
        if ($line -match '^## (.+)$') { & $flush; $section = $Matches[1].Trim().ToUpperInvariant(); $sub = $null; continue }
        if ($line -match '^### (.+)$') {
            & $flush
            $sub = $Matches[1].Trim().TrimStart('-')
            if ($section -eq 'EXAMPLES') { $examples.Add(@{ Title = $sub; Code = ''; Remarks = '' }) }
            continue
        }
        if ($line -match '^```' -and $section -eq 'EXAMPLES' -and $sub) { $inFence = $true; $code = [System.Text.StringBuilder]::new(); continue }
        if ($line -match '^# ') { continue }
        [void]$buffer.AppendLine($line)
    }
    & $flush
    @{ Sections = $sections; Parameters = $parameters; Examples = $examples }
}

function Write-Paragraphs([System.Xml.XmlWriter] $Writer, [string] $Text) {
    foreach ($paragraph in ($Text -split '\r?\n\s*\r?\n')) {
        $Writer.WriteElementString('para', $maml, ($paragraph -replace '\s*\r?\n\s*', ' ').Trim())
    }
}

function Get-DefaultValue($Cmdlet, $Parameter) {
    # The value a fresh instance of the cmdlet holds: what the parameter is when it is not given.
    $property = $Cmdlet.ImplementingType.GetProperty($Parameter.Name)
    if (-not $property) { return $(if ($Parameter.ParameterType -eq [switch]) { 'False' } else { 'None' }) }   # -WhatIf, -Confirm
    $value = $property.GetValue([Activator]::CreateInstance($Cmdlet.ImplementingType))
    if ($null -eq $value) { return 'None' }
    if ($value -is [System.Management.Automation.SwitchParameter]) { return "$($value.IsPresent)" }
    if ($value -is [Array]) { return $(if ($value.Length) { $value -join ', ' } else { 'None' }) }
    if ($value -is [string] -and $value -eq '') { return 'None' }
    "$value"
}

function Write-ParameterElement([System.Xml.XmlWriter] $Writer, $Parameter, $SetData, [string] $Description, [string] $Default = 'None') {
    $Writer.WriteStartElement('command', 'parameter', $command)
    $isSwitch = $Parameter.ParameterType -eq [switch]
    # Nullable parameters (optional numbers) read as their value type, as users type them.
    $type = [Nullable]::GetUnderlyingType($Parameter.ParameterType) ?? $Parameter.ParameterType
    $Writer.WriteAttributeString('required', $SetData.IsMandatory.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('position', $(if ($SetData.Position -ge 0) { "$($SetData.Position)" } else { 'named' }))
    $pipeline = @(if ($SetData.ValueFromPipeline) { 'ByValue' }; if ($SetData.ValueFromPipelineByPropertyName) { 'ByPropertyName' })
    $Writer.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    # Wildcards are claimed only where the cmdlet says it expands them ([SupportsWildcards]).
    $globbing = [bool]($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    $Writer.WriteAttributeString('globbing', $globbing.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $Writer.WriteElementString('name', $maml, $Parameter.Name)
    if ($null -ne $Description) {
        $Writer.WriteStartElement('maml', 'description', $maml); Write-Paragraphs $Writer $Description; $Writer.WriteEndElement()
    }
    if (-not $isSwitch) {
        $Writer.WriteStartElement('command', 'parameterValue', $command)
        $Writer.WriteAttributeString('required', 'true')
        $Writer.WriteString($type.Name)
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('dev', 'type', $dev); $Writer.WriteElementString('name', $maml, $type.FullName); $Writer.WriteEndElement()
    $Writer.WriteElementString('defaultValue', $dev, $Default)
    $Writer.WriteEndElement()
}

New-Item -ItemType Directory -Force -Path $Destination | Out-Null
Import-Module (Join-Path $ModuleRoot 'DataraxCkpt.psd1') -Force
$problems = [System.Collections.Generic.List[string]]::new()

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$mamlPath = Join-Path $Destination 'DataraxCkpt.Cmdlets.dll-Help.xml'
$writer = [System.Xml.XmlWriter]::Create($mamlPath, $settings)
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems', 'http://msh')
    $writer.WriteAttributeString('schema', 'maml')
    foreach ($cmdlet in Get-Command -Module DataraxCkpt -CommandType Cmdlet | Sort-Object Name) {
        $source = Join-Path $HelpSource "$($cmdlet.Name).md"
        if (-not (Test-Path -LiteralPath $source)) { $problems.Add("$($cmdlet.Name): no help source $source"); continue }
        $help = Read-HelpSource $source
        foreach ($required in 'SYNOPSIS', 'DESCRIPTION') {
            if (-not $help.Sections[$required]) { $problems.Add("$($cmdlet.Name): no $required") }
        }
        if ($help.Examples.Count -eq 0) { $problems.Add("$($cmdlet.Name): no example") }
        $own = $cmdlet.Parameters.Values | Where-Object { $_.Name -notin $commonParameters -and $_.Name -notin 'WhatIf', 'Confirm' }
        foreach ($parameter in $own) {
            if (-not $help.Parameters.Contains($parameter.Name)) { $problems.Add("$($cmdlet.Name): no help for -$($parameter.Name)") }
        }
        foreach ($documented in $help.Parameters.Keys) {
            if (-not $cmdlet.Parameters.ContainsKey($documented)) { $problems.Add("$($cmdlet.Name): help documents -$documented, which does not exist") }
        }

        $writer.WriteStartElement('command', 'command', $command)
        $writer.WriteAttributeString('xmlns', 'maml', $null, $maml)
        $writer.WriteAttributeString('xmlns', 'dev', $null, $dev)
        $writer.WriteStartElement('command', 'details', $command)
        $writer.WriteElementString('name', $command, $cmdlet.Name)
        $writer.WriteElementString('verb', $command, $cmdlet.Verb)
        $writer.WriteElementString('noun', $command, $cmdlet.Noun)
        $writer.WriteStartElement('maml', 'description', $maml); Write-Paragraphs $writer $help.Sections['SYNOPSIS']; $writer.WriteEndElement()
        $writer.WriteEndElement()
        $writer.WriteStartElement('maml', 'description', $maml); Write-Paragraphs $writer $help.Sections['DESCRIPTION']; $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'syntax', $command)
        foreach ($set in $cmdlet.ParameterSets) {
            $writer.WriteStartElement('command', 'syntaxItem', $command)
            $writer.WriteElementString('name', $maml, $cmdlet.Name)
            foreach ($p in $set.Parameters | Where-Object { $_.Name -notin $commonParameters }) {
                $full = $cmdlet.Parameters[$p.Name]
                Write-ParameterElement $writer $full $p $null
            }
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        $writer.WriteStartElement('command', 'parameters', $command)
        foreach ($parameter in $cmdlet.Parameters.Values | Where-Object { $_.Name -notin $commonParameters }) {
            $text = if ($help.Parameters.Contains($parameter.Name)) { $help.Parameters[$parameter.Name] } else { $shouldProcessText[$parameter.Name] }
            $setData = $parameter.ParameterSets.Values | Sort-Object { -[int]$_.IsMandatory } | Select-Object -First 1
            Write-ParameterElement $writer $parameter $setData $text (Get-DefaultValue $cmdlet $parameter)
        }
        $writer.WriteEndElement()

        # INPUTS: the help source's text when it has one, else what the pipeline parameters accept.
        $writer.WriteStartElement('command', 'inputTypes', $command)
        if ($help.Sections['INPUTS']) {
            foreach ($block in ($help.Sections['INPUTS'] -split '\r?\n\s*\r?\n')) {
                $lines = @($block -split '\r?\n')
                $writer.WriteStartElement('command', 'inputType', $command)
                $writer.WriteStartElement('dev', 'type', $dev); $writer.WriteElementString('name', $maml, $lines[0].Trim()); $writer.WriteEndElement()
                $writer.WriteStartElement('maml', 'description', $maml); Write-Paragraphs $writer (($lines | Select-Object -Skip 1) -join "`n"); $writer.WriteEndElement()
                $writer.WriteEndElement()
            }
        }
        else { $problems.Add("$($cmdlet.Name): no INPUTS") }
        $writer.WriteEndElement()

        # OUTPUTS: the cmdlet's declared output types, each with the help source's text for it.
        $outputsText = @{}
        foreach ($block in (($help.Sections['OUTPUTS'] ?? '') -split '\r?\n\s*\r?\n')) {
            $lines = @($block -split '\r?\n')
            if ($lines[0].Trim()) { $outputsText[$lines[0].Trim()] = ($lines | Select-Object -Skip 1) -join "`n" }
        }
        $writer.WriteStartElement('command', 'returnValues', $command)
        foreach ($output in $cmdlet.OutputType) {
            $writer.WriteStartElement('command', 'returnValue', $command)
            $writer.WriteStartElement('dev', 'type', $dev); $writer.WriteElementString('name', $maml, $output.Name); $writer.WriteEndElement()
            if ($outputsText[$output.Name]) {
                $writer.WriteStartElement('maml', 'description', $maml); Write-Paragraphs $writer $outputsText[$output.Name]; $writer.WriteEndElement()
            }
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        if ($help.Sections['NOTES']) {
            $writer.WriteStartElement('maml', 'alertSet', $maml)
            $writer.WriteStartElement('maml', 'alert', $maml); Write-Paragraphs $writer $help.Sections['NOTES']; $writer.WriteEndElement()
            $writer.WriteEndElement()
        }

        $writer.WriteStartElement('command', 'examples', $command)
        $number = 0
        foreach ($example in $help.Examples) {
            $number++
            $writer.WriteStartElement('command', 'example', $command)
            $writer.WriteElementString('title', $maml, "-------------------------- Example $number`: $($example.Title) --------------------------")
            $writer.WriteElementString('code', $dev, $example.Code)
            $writer.WriteStartElement('dev', 'remarks', $dev); Write-Paragraphs $writer $example.Remarks; $writer.WriteEndElement()
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()

        # RELATED LINKS: the online page first (Get-Help -Online opens the first link's URI), then the
        # help source's "- Name" lines.
        $writer.WriteStartElement('command', 'relatedLinks', $command)
        if ($cmdlet.HelpUri) {
            $writer.WriteStartElement('maml', 'navigationLink', $maml)
            $writer.WriteElementString('linkText', $maml, 'Online Version:')
            $writer.WriteElementString('uri', $maml, $cmdlet.HelpUri)
            $writer.WriteEndElement()
        }
        else { $problems.Add("$($cmdlet.Name): no HelpUri") }
        foreach ($line in (($help.Sections['RELATED LINKS'] ?? '') -split '\r?\n')) {
            if ($line -match '^\s*-\s*(.+?)\s*$') {
                $writer.WriteStartElement('maml', 'navigationLink', $maml)
                $writer.WriteElementString('linkText', $maml, $Matches[1])
                $writer.WriteElementString('uri', $maml, '')
                $writer.WriteEndElement()
            }
        }
        $writer.WriteEndElement()
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()
    $writer.WriteEndDocument()
}
finally {
    $writer.Dispose()
}

$about = Join-Path $HelpSource 'about_DataraxCkpt.md'
if (Test-Path -LiteralPath $about) {
    Copy-Item -LiteralPath $about -Destination (Join-Path $Destination 'about_DataraxCkpt.help.txt')
}
else { $problems.Add('no about_DataraxCkpt.md') }

if ($problems.Count) {
    $problems | ForEach-Object { Write-Host "HELP: $_" }
    exit 1
}
Write-Host "Help written to $Destination"
