using System.Text.RegularExpressions;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// What the cmdlets need to know of a remote location (<c>az://</c>, <c>https://</c>, <c>http://</c>) before
/// the engine sees it: how to show it without its secret, and whether the environment can reach it at all.
/// The engine parses and connects; these checks exist so that a missing credential is one clear error with a
/// stable id, found before any request.
/// </summary>
internal static partial class RemoteLocations
{
    /// <summary>The environment variable holding a storage connection string.</summary>
    public const string ConnectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING";

    /// <summary>The environment variable naming the storage account used with Azure.Identity.</summary>
    public const string AccountVariable = "AZURE_STORAGE_ACCOUNT";

    /// <summary>
    /// Any path or location as messages, error targets and -Verbose lines may show it: from its first <c>?</c> on, the
    /// query is replaced by <c>?&lt;redacted&gt;</c> for a remote location (a SAS), and for any other string whose query
    /// holds <c>sig=</c> (any case). That second case is a mistyped URL the cmdlets do not take for remote ('https:/acct…',
    /// a leading space, 'FileSystem::https:/…'): it reaches the file-system provider as a path, and no refusal of it may
    /// print the SAS signature into a job's log. Any other secret the path holds is redacted by <see cref="Scrubbed"/>
    /// (a percent-encoded query, a connection string's key). A local path with no <c>?</c>, or whose part after the
    /// <c>?</c> holds no <c>sig=</c>, and no secret <see cref="Scrubbed"/> finds, is shown as it is: '?' and 'sig=' are
    /// legal in file names ('./runs/sig=3'), and a path a message cannot be matched against misleads.
    /// </summary>
    public static string Shown(string location)
    {
        var query = location.IndexOf('?', StringComparison.Ordinal);
        return query >= 0 && (CheckpointLocation.IsRemote(location) || HoldsSignature(location.AsSpan(query)))
            ? Scrubbed(location[..query]) + "?<redacted>"
            : Scrubbed(location);
    }

    /// <summary>
    /// A query holds a SAS signature: <c>sig=</c> in any case, also percent-encoded (<c>%73ig=</c>, <c>s%69g=</c>,
    /// <c>%53%49%47=</c>, <c>sig%3D</c>) any number of times over (<c>sig%253D</c>, <c>sig%25252525253D</c>): the storage
    /// service decodes once, but a URL pasted into another URL's query, or logged by a layer that encodes again, is
    /// encoded more than once and still carries the signature. Read at its fixed point (<see cref="DecodedText"/>, the one
    /// decoder of the redaction), in time linear in its length whatever its depth.
    /// </summary>
    private static bool HoldsSignature(ReadOnlySpan<char> query) =>
        query.Contains("sig=", StringComparison.OrdinalIgnoreCase)
        || (DecodedText.Of(query.ToString()) is { } decoded && decoded.Text.Contains("sig=", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Text that quotes a path or secret it was not handed as one (a provider's exception message, an engine log line, an
    /// exception's Data) with every secret the storage service or its SDK would take replaced by <c>&lt;redacted&gt;</c>.
    /// Each form below is also found percent-encoded any number of times over (<c>%3F</c>, <c>%253F</c>,
    /// <c>%2525252525253F</c>: a '%' followed by any run of '25'; the fourth level leaked: redact18):
    /// <list type="bullet">
    /// <item>a query that holds <c>sig=</c> (also percent-encoded), from its <c>?</c>, its percent-encoded <c>%3F</c> or its
    /// JSON-escaped <c>\u003F</c>, to the next quote or white space, by the rule of <see cref="Shown"/>;</item>
    /// <item>the value of a <c>sig=</c> parameter anywhere else: after white space, a quote, <c>&amp;</c>, <c>;</c>,
    /// <c>,</c>, a bracket, <c>|</c>, <c>+</c>, <c>~</c>, <c>.</c>, <c>*</c>, <c>$</c>, <c>@</c>, a JSON-escaped
    /// <c>\u0026</c>, or a percent-encoded <c>?</c>, <c>&amp;</c>, <c>=</c>, space, comma, tab, line break, <c>;</c> or quote (its <c>=</c> also
    /// <c>\u003d</c>), up to the next <c>&amp;</c>, <c>;</c>, quote or line end, white space included, so that a query
    /// split by a space leaves no part of the signature. After <c>/</c> it is a folder name ('/runs/sig=3') unless it is what a
    /// signature can be (<see cref="SlashSignature"/>); after <c>\</c>,
    /// <c>%5C</c> or a JSON-escaped <c>\n</c>, <c>\r</c>, <c>\t</c> too ('C:\runs\sig=3', 'C:\runs\nsig=3'), unless its value,
    /// after any blanks, reads as a signature does (<see cref="SignatureShape"/>);</item>
    /// <item>the value of a connection string's <c>AccountKey</c> or <c>SharedAccessSignature</c> (any case, also ending a
    /// longer name: <c>StorageAccountKey=</c>) after <c>=</c> or <c>:</c>, the name quoted or not (JSON:
    /// <c>"AccountKey": "…"</c>, also escaped inside a JSON string), up to the next <c>;</c>, the closing quote when it
    /// is quoted, or the line end. An unquoted <c>AccountKey:</c> is prose ('AccountKey: not set') unless its value is
    /// quoted or reads as a key does (<see cref="KeyShape"/>);</item>
    /// <item>the text of an XML element <c>&lt;AccountKey&gt;</c> or <c>&lt;SharedAccessSignature&gt;</c> (attributes or not),
    /// or of one whose <c>key</c> or <c>name</c> attribute names one, also XML-escaped (<c>&amp;lt;AccountKey&amp;gt;</c>) or
    /// JSON-escaped (<c>\u003CAccountKey\u003E</c>), up to the next <c>&lt;</c> that opens no comment or CDATA section, or
    /// the end of its first line that is not blank (an indented element's value stands on the next line); and that tag's
    /// <c>value</c> attributes (app.config's <c>&lt;add key="StorageAccountKey" value="…"/&gt;</c>); a comment is read
    /// whatever it holds (<see cref="XmlShown"/>);</item>
    /// <item>an account key, named or not (<see cref="BareAccountKey"/>);</item>
    /// <item>each of these found in what the text reads as decoded (<see cref="DecodedSecrets"/>).</item>
    /// </list>
    /// Every pattern is kept from backtracking over its own input (character classes, atomic groups, and alternatives
    /// guarded by lookaheads that each decide on a few characters or on one run of '25'), so the time is linear in the
    /// text's length, whatever it holds (1 MB adversarial texts are scrubbed by a test in well under two seconds).
    /// </summary>
    public static string Scrubbed(string text)
    {
        if (!MayHoldSecret(text))
        {
            return text;
        }

        var scrubbed = XmlShown(text);
        scrubbed = ConnectionStringSecret().Replace(scrubbed, m => m.Groups["name"].Value + m.Groups["open"].Value + "<redacted>" + m.Groups["open"].Value);
        scrubbed = SignatureParameter().Replace(scrubbed, m => m.Groups["name"].Value + "<redacted>");
        scrubbed = Query().Replace(scrubbed, m => HoldsSignature(m.ValueSpan) ? m.Groups["mark"].Value + "<redacted>" : m.Value);
        scrubbed = BareAccountKey().Replace(scrubbed, "<redacted>");
        return DecodedSecrets(scrubbed);
    }

    /// <summary>
    /// The secrets found in what <paramref name="text"/> reads as once decoded (<see cref="DecodedText"/>), redacted where
    /// the text writes them: a name whose letters are encoded with their digits encoded (<c>sig%25%33%44</c>,
    /// <c>Account%25%34%42ey=</c>), which the patterns, matching '%' and a run of '25', miss; an account key whose own
    /// characters are escaped (<c>%2B</c>, <c>%2F</c>, <c>\u002B</c>, <c>%3D%3D</c>, <c>\/</c>), named or not; and a
    /// signature after '/' (<see cref="SlashSignature"/>), also in a text with no escape. Each pattern runs once over the
    /// decoded text, which is built in one linear pass.
    /// </summary>
    private static string DecodedSecrets(string text)
    {
        var decoded = DecodedText.Of(text);
        var read = decoded?.Text ?? text;
        var spans = new List<(int Start, int Length)>();
        foreach (Match m in SlashSignature().Matches(read))
        {
            spans.Add((m.Groups["value"].Index, m.Groups["value"].Length));
        }

        if (decoded is not null)
        {
            foreach (Match m in SignatureParameter().Matches(read))
            {
                var name = m.Groups["name"];
                spans.Add((name.Index + name.Length, m.Index + m.Length - name.Index - name.Length));
            }

            foreach (Match m in ConnectionStringSecret().Matches(read))
            {
                var valueStart = m.Groups["name"].Index + m.Groups["name"].Length + m.Groups["open"].Length;
                var valueEnd = m.Index + m.Length;
                // A quoted value keeps its closing quote, as the first pass keeps it.
                if (m.Groups["open"].Success && valueEnd > valueStart && read[valueEnd - 1] is '"' or '\'' or '`')
                {
                    valueEnd--;
                }

                spans.Add((valueStart, valueEnd - valueStart));
            }

            foreach (Match m in BareAccountKey().Matches(read))
            {
                spans.Add((m.Index, m.Length));
            }
        }

        return Redacted(text, spans.Where(s => s.Length > 0).Select(s => decoded is null ? s : decoded.Original(s.Start, s.Length)));
    }

    // The text with each span (of the text as written) replaced by '<redacted>'; overlapping spans are redacted once.
    private static string Redacted(string text, IEnumerable<(int Start, int Length)> spans)
    {
        var sorted = spans.OrderBy(s => s.Start).ToList();
        if (sorted.Count == 0)
        {
            return text;
        }

        var shown = new System.Text.StringBuilder(text.Length);
        var at = 0;
        foreach (var (start, length) in sorted)
        {
            if (start + length <= at)
            {
                continue;
            }

            if (start >= at)
            {
                shown.Append(text, at, start - at).Append("<redacted>");
            }

            at = start + length;
        }

        return shown.Append(text, at, text.Length - at).ToString();
    }

    /// <summary>
    /// A SAS signature after '/': a SAS carries <c>sig</c> in its query only, but a URL rewritten into a path
    /// (<c>…/ck/sig=…</c>) or a query value holding '/' logged without its '?' (<c>a=1/sig=…</c>) still carries a working
    /// one. A folder may be named <c>sig=3</c>, so only what a signature can be is redacted: the base64 of an HMAC-SHA256,
    /// 43 base64 characters and '=' (read decoded, so also percent-encoded), the folders after it kept.
    /// </summary>
    [GeneratedRegex(@"(?<=/)(?i:sig)=(?<value>[A-Za-z0-9+/]{43}=)(?!=)", RegexOptions.CultureInvariant)]
    private static partial Regex SlashSignature();

    /// <summary>
    /// The text with the elements that name a secret redacted (<see cref="XmlTag"/>, <see cref="XmlTagShown"/>), their text
    /// read after comments whatever the comments hold (<see cref="XmlComments"/>): <c>&lt;AccountKey&gt;&lt;!-- a&lt;b
    /// --&gt;KEY</c>, a comment over lines (session 19). The elements inside comments (a key commented out) are redacted first,
    /// each comment on its own; the rest is then read with the comments' contents blanked, and shown as written. Each
    /// character is read by the pattern once or twice, so the time stays linear.
    /// </summary>
    private static string XmlShown(string text)
    {
        var bodies = XmlComments.Bodies(text);
        if (bodies.Count == 0)
        {
            return XmlTag().Replace(text, tag => XmlTagShown(tag, text));
        }

        var inside = new System.Text.StringBuilder(text.Length);
        var at = 0;
        foreach (var (start, length) in bodies)
        {
            var body = text.Substring(start, length);
            // Only an element or attribute named for a secret is ever changed: most comments are left unread.
            var names = body.Contains("AccountKey", StringComparison.OrdinalIgnoreCase) || body.Contains("SharedAccessSignature", StringComparison.OrdinalIgnoreCase);
            inside.Append(text, at, start - at).Append(names ? XmlTag().Replace(body, tag => XmlTagShown(tag, body)) : body);
            at = start + length;
        }

        var written = inside.Append(text, at, text.Length - at).ToString();
        var shown = new System.Text.StringBuilder(written.Length);
        at = 0;
        foreach (Match tag in XmlTag().Matches(XmlComments.Blanked(written, XmlComments.Bodies(written))))
        {
            shown.Append(written, at, tag.Index - at).Append(XmlTagShown(tag, written));
            at = tag.Index + tag.Length;
        }

        return shown.Append(written, at, written.Length - at).ToString();
    }

    /// <summary>
    /// A storage account key wherever it stands, named or not: 86 base64 characters and '==' (the base64 of 64 bytes), as
    /// `az storage account keys list` prints it ('"value": "…"') and a .NET settings file holds it
    /// ('&lt;setting name="AccountKey"&gt;&lt;value&gt;…'), which name no secret the other patterns know (final review of
    /// session 18), also right after a JSON or percent escape. Any other base64 of 64 bytes (a SHA-512 digest) is redacted
    /// as well: a key must never show. A key whose own characters are escaped ('%2B', '\u002B', '%3D%3D') is found in the
    /// text read decoded (<see cref="DecodedSecrets"/>).
    /// </summary>
    // Its start: no base64 character before it, or an escape whose last character is one (a JSON '\n', '\t', '\r',
    // '\u003E', a percent-encoded '%0A'): an az -o tsv line inside a JSON log (attack on session 18's review fixes).
    // Its end: no third '=' (a key's padding ends it, so a key glued to the next, 'K1==K2==', is one too: session 19).
    [GeneratedRegex(@"(?:(?<![A-Za-z0-9+/])|(?<=\\[nrt])|(?<=\\u[0-9A-Fa-f]{4})|(?<=%[0-9A-Fa-f]{2}))[A-Za-z0-9+/]{86}==(?!=)",
        RegexOptions.CultureInvariant)]
    private static partial Regex BareAccountKey();

    // The cheap test that spares almost every message the regular expressions: the text, and the text at its decoding's
    // fixed point (one linear pass, however deep the encoding).
    private static bool MayHoldSecret(string text) =>
        NamesSecret(text) || (DecodedText.Of(text) is { } decoded && NamesSecret(decoded.Text));

    private static bool NamesSecret(string text) =>
        text.Contains("sig", StringComparison.OrdinalIgnoreCase)
        || text.Contains("key", StringComparison.OrdinalIgnoreCase)
        || text.Contains("==", StringComparison.Ordinal);

    // A '%' as it reads after any number of percent-encodings: '%', '%25', '%2525', … Each match scans one run of '25'
    // that no other match of the same pattern scans again, which keeps the time linear.
    private const string Percent = "%(?:25)*";

    [GeneratedRegex(@"(?<mark>\?|\\u003[Ff]|" + Percent + "3[Ff])[^\\s'\"]*", RegexOptions.CultureInvariant)]
    private static partial Regex Query();

    // 'sig' with each letter also percent-encoded, white space, then '=' (also '\u003d' or percent-encoded).
    private const string SignatureName =
        "(?:s|" + Percent + "73|" + Percent + "53)(?:i|" + Percent + "69|" + Percent + "49)(?:g|" + Percent + "67|" + Percent + "47)"
        + @"\s*(?:=|\\u003[Dd]|" + Percent + "3[Dd])";

    /// <summary>
    /// A signature as a SAS carries it, the base64 of an HMAC-SHA256 (44 characters), percent-encoded or not: twenty
    /// characters of base64 or '%' in a row, which a folder name ('sig=3', 'sig=run-7') does not start with ('C:\runs\sig=3\7' was
    /// redacted as if it held one: redact18).
    /// </summary>
    private const string SignatureShape = "[A-Za-z0-9+/=%]{20}";

    [GeneratedRegex(
        @"(?<name>(?:(?<=^|[\s'""`?&;,(\[{<>=:|+~.*)\]}$@]|\\u0026|" + Percent + "(?:3[Ff]|26|3[Dd]|20|2[Cc]|0[9AaDd]|3[Bb]|2[27]))"
        // After '\\' (or %5C), also JSON-escaped white space ('\\n', '\\t', '\\r', which a Windows path reads as a folder
        // 'nsig=3' after '\\'), and with blanks after its '=' ('C:\\temp\\sig= …'): a parameter only when its value reads
        // as a signature does (attack on redact18).
        + @"|(?<=\\[ntr]?|" + Percent + "5[Cc])(?=" + SignatureName + "[ \t]*" + SignatureShape + "))"
        + SignatureName + @")[^&;'""`\r\n]*",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex SignatureParameter();

    // The name may end a longer one (StorageAccountKey), be quoted (JSON, also escaped inside a JSON string once or more:
    // \"AccountKey\", \\\"AccountKey\\\", or by System.Text.Json: \u0022AccountKey\u0022) and be followed by '=' or ':',
    // also percent-encoded (AccountKey%3D, a connection string in a URL's query: attack on redact17). The value runs to
    // the closing quote when quoted, else to the next ';' (also %3B) or quote.
    private const string SecretQuote = @"\\*[""'`]|\\u002[27]|" + Percent + "2[27]";

    /// <summary>
    /// An account key as prose does not read: a run of base64 (or percent-encoded) characters that ends in the padding
    /// '=' every account key ends in, or twenty of them in a row (a key is 88). 'AccountKey: not set' has neither, and is
    /// kept (it was redacted to the line end: redact18); 'AccountKey: SECRET==' and a whole key are redacted.
    /// </summary>
    private const string KeyShape = "(?=[A-Za-z0-9+/=%]{20})|(?>[A-Za-z0-9+/=%]+)(?<=[=]|" + Percent + "3[Dd])";

    [GeneratedRegex(
        @"(?<name>(?:(?:AccountKey|SharedAccessSignature)(?:(?:" + SecretQuote + @")\s*(?:[=:]|\\u003[Dd]|" + Percent + @"3[DdAa])"
        + @"|\s*(?:=|\\u003[Dd]|" + Percent + @"3[DdAa]))"
        + @"|SharedAccessSignature\s*:"
        // The key may stand in brackets, braces, angle brackets, parentheses, typographic quotes or Markdown emphasis
        // ('AccountKey : {key}' is Format-List of a collection): the cut for prose kept those whole keys (attack on redact18).
        + @"|AccountKey\s*:(?=\s*(?:" + SecretQuote + @"|[\[{(<*_\u2018\u201C]*(?:" + KeyShape + @"))))\s*)"
        + @"(?:(?<open>\\u002[27])(?:[^""'`\r\n\\]|\\(?!u002[27]))*(?:\\u002[27])?"
        + "|(?<open>" + Percent + @"2[27])(?:[^""'`\r\n%]|%(?!(?:25)*2[27]))*(?:" + Percent + "2[27])?"
        + @"|(?<open>\\*[""'`])[^""'`\r\n]*[""'`]?"
        + @"|(?:[^;""'`\r\n%]|%(?!(?:25)*3[Bb]))*)",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionStringSecret();

    // '<' and '>' as XML, XML-escaped or JSON-escaped text writes them.
    private const string Lt = @"(?:<|&lt;|\\u003[Cc])";
    private const string Gt = @"(?:>|&gt;|\\u003[Ee])";

    // An opening tag only ('</AccountKey>' is followed by other text), its name also prefixed (ns:AccountKey), its
    // attributes (within the tag, any of the three forms), then its text: white space (an indented value on the next
    // line), then up to the next '<' or the line end, where a comment, with the blanks after it, and a CDATA section's
    // opening are part of the text ('<AccountKey><![CDATA[key]]>', '<AccountKey><!-- primary -->key': attack on redact18).
    // Each alternative decides on its first characters and a comment stops at a '<' or the line end, so no tag's scan
    // reaches past the next '<' of the line: linear. Which tags hold a secret is decided by XmlTagShown.
    [GeneratedRegex(
        @"(?<tag>(?<=" + Lt + @")(?<element>(?>[\w.:-]+))(?<attributes>(?>\s(?:[^<>&\\]|&(?!gt;|lt;)|\\(?!u003[CcEe]))*)?)" + Gt + @")(?<space>\s*)"
        + @"(?<text>(?>(?:" + Lt + @"!--(?:[^-<&\\\r\n]|-(?!-)|&(?!lt;)|\\(?!u003[Cc]))*--" + Gt + @"\s*|" + Lt + @"!\[CDATA\[\s*"
        + @"|[^<&\\\r\n]|&(?!lt;)|\\(?!u003[Cc]))*))",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex XmlTag();

    // An attribute's quote: plain, XML-escaped, or JSON-escaped (once or more).
    private const string AttributeQuote = @"(?:\\*[""']|&quot;|&apos;|\\u002[27])";

    // A 'key' or 'name' attribute naming a secret: app.config's <add key="StorageAccountKey" value="…"/>, <Key name="AccountKey">.
    [GeneratedRegex(@"(?<![\w.:-])(?:key|name)\s*=\s*" + AttributeQuote + @"[\w.:-]*(?:AccountKey|SharedAccessSignature)" + AttributeQuote,
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex SecretAttributeName();

    [GeneratedRegex(@"(?<name>(?<![\w.:-])value\s*=\s*(?<quote>" + AttributeQuote + @"))(?:[^""'&\\<>]|&(?!quot;|apos;|gt;|lt;)|\\(?![""'\\]|u002[27]))*",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex ValueAttribute();

    // A tag that names no secret is kept as it is; one that does (an element named for one, <StorageAccountKey>, or by
    // its 'key' or 'name' attribute) has its 'value' attributes and, unless it closes itself,
    // its text redacted (an element named for a secret always shows '<redacted>', as it did, even when empty).
    // Read from source, the text as written: a tag found in a text with its comments blanked is shown as written.
    private static string XmlTagShown(Match tag, string source)
    {
        string Written(Group group) => source.Substring(group.Index, group.Length);
        var attributes = Written(tag.Groups["attributes"]);
        var element = Written(tag.Groups["element"]);
        var named = element.EndsWith("AccountKey", StringComparison.OrdinalIgnoreCase)
            || element.EndsWith("SharedAccessSignature", StringComparison.OrdinalIgnoreCase);
        if (!named && !SecretAttributeName().IsMatch(attributes))
        {
            return Written(tag);
        }

        var shownAttributes = ValueAttribute().Replace(attributes, m => m.Groups["name"].Value + "<redacted>");
        var opening = element + shownAttributes + Written(tag.Groups["tag"])[(element.Length + attributes.Length)..];
        var text = Written(tag.Groups["text"]);
        var closes = attributes.TrimEnd().EndsWith('/');
        return closes || (!named && text.Length == 0)
            ? opening + Written(tag.Groups["space"]) + text
            : opening + Written(tag.Groups["space"]) + "<redacted>";
    }

    /// <summary>
    /// Why the environment holds no credentials for <paramref name="location"/>, or null when it may have some.
    /// <c>az://</c> needs the account from one of the two variables; an <c>http://</c> URL (an emulator) needs a
    /// SAS or the connection string, since Azure.Identity signs in over https only. An <c>https://</c> URL
    /// without a SAS may still sign in through Azure.Identity (az login, a managed identity), so it passes.
    /// </summary>
    public static string? MissingCredentials(string location)
    {
        var connectionString = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        var hasConnectionString = !string.IsNullOrWhiteSpace(connectionString);
        if (location.StartsWith("az://", StringComparison.OrdinalIgnoreCase))
        {
            return hasConnectionString || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(AccountVariable))
                ? null
                : $"No storage account for '{Shown(location)}': set {ConnectionStringVariable} to the account's connection string, " +
                  $"or {AccountVariable} to the account name and sign in for Azure.Identity (az login, a managed identity, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET).";
        }

        if (location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !location.Contains('?', StringComparison.Ordinal) && !hasConnectionString)
        {
            return $"No credentials for '{Shown(location)}': put a SAS in the URL, or set {ConnectionStringVariable} to the account's connection string (Azure.Identity signs in over https only).";
        }

        return null;
    }
}
