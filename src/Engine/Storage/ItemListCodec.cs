using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Storage;

/// <summary>
/// The binary item list of one step in an index of schema version 2 or 3 (<c>step_items.items</c>,
/// docs/format.md §3.1): the fields a version-1 index kept as one row per leaf (name, kind, dtype,
/// shape, size, stored size), in ordinal order, in one blob per step. One blob instead of 100,000 rows
/// is what makes the index cost of a save of many small leaves a fraction of a microsecond per leaf.
/// </summary>
/// <remarks>
/// Layout 1 (what engines of index schema 2 write): a layout byte, the item count, a table of the distinct
/// kind and dtype texts, the items, and an XXH64 of everything before it. Layout 2 (written since schema 3):
/// a layout byte, the item count, the length of a payload and the payload as one LZ4 block, then the XXH64;
/// the payload is layout 1's table and items with each name front-coded (the bytes it shares with the
/// previous name counted, not repeated), which with LZ4 makes a list of config leaves about a thirteenth of
/// layout 1 (docs/performance-notes.md, round 55). Integers are unsigned LEB128 varints (a <c>long</c> as its
/// two's-complement bits). The checksum covers every stored byte, so a damaged blob is an error instead of
/// different items: a flipped byte in a name would otherwise still decode, as another name.
/// </remarks>
internal static partial class ItemListCodec
{
    /// <summary>The layout this engine writes; it reads this one and <see cref="RowLayout"/>. Any other first byte is damage (a new layout comes with a new index schema version).</summary>
    public const byte Layout = 2;

    /// <summary>The layout of index schema 2: names whole, no compression. Still read; this engine no longer writes it (the unit tests write it to build such an index).</summary>
    public const byte RowLayout = 1;

    /// <summary>
    /// The largest payload a layout-2 list may claim (SQLite's largest value, which a layout-1 list could not
    /// exceed either): a reader refuses more before allocating it, and a writer refuses to write more.
    /// </summary>
    public const int MaxPayloadBytes = 1_000_000_000;

    /// <summary>
    /// LZ4 turns one stored byte into at most 255 (a match length's extension bytes add 255 each), so a
    /// payload claiming more than this many times its block is damage, refused before allocating it.
    /// </summary>
    private const long MaxExpansion = 256;

    /// <summary>The fewest bytes a front-coded item takes (shared length, name header, five fields).</summary>
    private const int SmallestFrontCodedItem = 7;

    /// <summary>Bytes of the trailing checksum.</summary>
    private const int ChecksumLength = 8;

    /// <summary>The fewest bytes an item takes (one per field), which bounds a count read from a damaged blob.</summary>
    private const int SmallestItem = 6;

    /// <summary>Encodes items as stored by a save: each one's stored size comes from <paramref name="storedSizeOf"/>.</summary>
    public static byte[] Encode(IReadOnlyList<Values.StoredItem> items, Func<Values.StoredItem, long> storedSizeOf)
    {
        var writer = new Writer(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var it = items[i];
            writer.Add(it.Name, it.Kind, it.DType, it.Shape, it.Size, storedSizeOf(it));
        }

        return writer.ToArray();
    }

    /// <summary>
    /// Decodes a step's blob, of either layout. Anything that is not exactly a blob of <paramref name="expectedCount"/>
    /// items (a wrong checksum, a cut, trailing bytes, an index out of range, text that is not UTF-8, a block that
    /// does not decompress to its stated length) throws <see cref="FormatException"/>, which the index reports as damage.
    /// </summary>
    public static List<CheckpointItemInfo> Decode(long step, ReadOnlySpan<byte> blob, int expectedCount)
    {
        var body = VerifiedBody(step, blob);
        var pos = 1;
        if (body[0] == RowLayout)
        {
            var count = (int)ReadCount(step, body, ref pos, expectedCount, SmallestItem);
            return ReadItems(step, body, pos, count, frontCoded: false);
        }

        var length = PayloadLength(step, body, ref pos, expectedCount);
        var payload = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            Decompress(step, body[pos..], payload.AsSpan(0, length));
            return ReadItems(step, payload.AsSpan(0, length), 0, expectedCount, frontCoded: true);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(payload);
        }
    }

    /// <summary>A layout-2 blob's block into <paramref name="payload"/>, which it must fill exactly.</summary>
    private static void Decompress(long step, ReadOnlySpan<byte> block, Span<byte> payload)
    {
        var decoded = K4os.Compression.LZ4.LZ4Codec.Decode(block, payload);
        if (decoded != payload.Length)
        {
            throw new FormatException($"the item list of step {step} does not decompress to its stated {payload.Length} bytes");
        }
    }

    /// <summary>
    /// A layout-2 blob's count (checked) and payload length, refused before anything is allocated when it is more
    /// than the format allows, more than the block could expand to, or too little for the count.
    /// </summary>
    private static int PayloadLength(long step, ReadOnlySpan<byte> body, ref int pos, int expectedCount)
    {
        var count = ReadVarint(body, ref pos, step);
        if (count != (ulong)expectedCount)
        {
            throw new FormatException($"the item list of step {step} holds {count} items, but the step has {expectedCount}");
        }

        var length = ReadVarint(body, ref pos, step);
        var block = (ulong)(body.Length - pos);
        if (length > MaxPayloadBytes || length > block * MaxExpansion || length < 1 + (count * SmallestFrontCodedItem))
        {
            throw new FormatException($"the item list of step {step} claims a payload of {length} bytes for {count} items in a block of {block} bytes");
        }

        return (int)length;
    }

    /// <summary>The text table and the items, from <paramref name="pos"/> to the end of <paramref name="data"/>.</summary>
    private static List<CheckpointItemInfo> ReadItems(long step, ReadOnlySpan<byte> data, int pos, int count, bool frontCoded)
    {
        var tableCount = ReadTableCount(data, ref pos, count, step);
        var table = new string[tableCount];
        for (var t = 0; t < table.Length; t++)
        {
            table[t] = ReadUtf8(data, ref pos, Length(ReadVarint(data, ref pos, step), data.Length - pos, step), step);
        }

        // A front-coded name is the previous name's first bytes and its own; the previous name's bytes are kept here.
        var previous = frontCoded ? new byte[256] : [];
        var previousLength = 0;

        // A front-coded name costs its unshared bytes only, so a small payload could otherwise decode to names of
        // quadratic length (each the previous plus a byte): the format's bound on a step's names (docs/format.md §6.4,
        // which the writer enforces) is checked before each name is made.
        long nameChars = 0;
        var items = new List<CheckpointItemInfo>(count);
        for (var i = 0; i < count; i++)
        {
            var shared = frontCoded ? Length(ReadVarint(data, ref pos, step), previousLength, step) : 0;
            var header = ReadVarint(data, ref pos, step);
            string name;
            if ((header & 1) == 0)
            {
                var suffix = Length(header >> 1, data.Length - pos, step);
                if (frontCoded)
                {
                    if (shared + suffix > previous.Length)
                    {
                        Array.Resize(ref previous, Math.Max(previous.Length * 2, shared + suffix));
                    }

                    data.Slice(pos, suffix).CopyTo(previous.AsSpan(shared));
                    pos += suffix;
                    previousLength = shared + suffix;
                    var whole = previous.AsSpan(0, previousLength);
                    // Counted without allocating (text that is not UTF-8 is refused just below, whatever its count).
                    nameChars += Encoding.UTF8.GetCharCount(whole);
                    if (nameChars > Values.StateDecoder.MaxItemNameChars)
                    {
                        throw NamesTooLong(step);
                    }

                    var at = 0;
                    name = ReadUtf8(whole, ref at, previousLength, step);
                }
                else
                {
                    name = ReadUtf8(data, ref pos, suffix, step);
                }
            }
            else
            {
                if (shared != 0)
                {
                    throw FrontCodedUtf16(step);
                }

                var chars = Length(header >> 1, (data.Length - pos) / 2, step);
                name = string.Create(chars, data.Slice(pos, chars * 2).ToArray(), static (span, bytes) =>
                {
                    for (var c = 0; c < span.Length; c++)
                    {
                        span[c] = (char)BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(c * 2));
                    }
                });
                pos += chars * 2;
                previousLength = 0;
            }

            var kindCode = ReadVarint(data, ref pos, step);
            var kind = kindCode < (ulong)table.Length ? table[(int)kindCode] : throw KindOutOfRange(step, kindCode, table.Length);
            var dtypeCode = Length(ReadVarint(data, ref pos, step), table.Length, step);
            var dtype = dtypeCode == 0 ? null : table[dtypeCode - 1];
            var shapeCode = ReadShapeCode(data, ref pos, step);
            long[]? shape = null;
            if (shapeCode > 0)
            {
                shape = shapeCode == 1 ? [] : new long[shapeCode - 1];
                for (var d = 0; d < shape.Length; d++)
                {
                    shape[d] = (long)ReadVarint(data, ref pos, step);
                }
            }

            var size = (long)ReadVarint(data, ref pos, step);
            var stored = (long)ReadVarint(data, ref pos, step);
            items.Add(new CheckpointItemInfo(step, name, kind, dtype, shape, size, stored));
        }

        if (pos != data.Length)
        {
            throw TrailingBytes(step, data.Length - pos);
        }

        return items;
    }

    /// <summary>The blob without its checksum, once the checksum and the layout byte are right.</summary>
    private static ReadOnlySpan<byte> VerifiedBody(long step, ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 3 + ChecksumLength)
        {
            throw new FormatException($"the item list of step {step} is cut short ({blob.Length} bytes)");
        }

        var body = blob[..^ChecksumLength];
        if (XXH64.DigestOf(body) != BinaryPrimitives.ReadUInt64LittleEndian(blob[^ChecksumLength..]))
        {
            throw new FormatException($"the item list of step {step} does not match its checksum");
        }

        return body[0] is RowLayout or Layout ? body : throw new FormatException($"the item list of step {step} has layout {body[0]}, not {RowLayout} or {Layout}");
    }

    private static ulong ReadCount(long step, ReadOnlySpan<byte> body, ref int pos, int expectedCount, int smallestItem)
    {
        var count = ReadVarint(body, ref pos, step);
        return count == (ulong)expectedCount && count <= (ulong)(body.Length / smallestItem) ? count
            : throw new FormatException($"the item list of step {step} holds {count} items, but the step has {expectedCount}");
    }

    /// <summary>A length or index read from the blob, refused when above <paramref name="max"/>.</summary>
    private static int Length(ulong value, int max, long step) =>
        value <= (ulong)Math.Max(max, 0) ? (int)value : throw new FormatException($"the item list of step {step} holds an out-of-range length or index ({value})");

    private static string ReadUtf8(ReadOnlySpan<byte> body, ref int pos, int length, long step)
    {
        var bytes = body.Slice(pos, length);
        if (!Utf8.IsValid(bytes))
        {
            throw NotUtf8(step);
        }

        pos += length;
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>
    /// The number of texts in the table. Each item adds at most its kind and its dtype, so a list of N items has at most
    /// 2N texts; the bound keeps a small hostile list from making the decode allocate a reference per payload byte
    /// (Check, which allocates nothing, refuses the same list, so the repair rebuilds it).
    /// </summary>
    private static int ReadTableCount(ReadOnlySpan<byte> data, ref int pos, int count, long step)
    {
        var tableCount = ReadVarint(data, ref pos, step);
        if (tableCount > (ulong)(data.Length - pos))
        {
            throw TableTooLong(step);
        }

        return tableCount <= 2 * (ulong)count ? (int)tableCount
            : throw new FormatException($"the item list of step {step} has a text table of {tableCount} texts for {count} items (at most two per item)");
    }

    /// <summary>A shape's code (0 for none, else 1 + rank), the rank at most the format's (a manifest refuses more).</summary>
    private static int ReadShapeCode(ReadOnlySpan<byte> data, ref int pos, long step)
    {
        var code = ReadVarint(data, ref pos, step);
        return code <= (ulong)Format.StepFormat.MaxRank + 1 ? Length(code, data.Length - pos + 1, step)
            : throw new FormatException($"the item list of step {step} holds a shape of rank {code - 1}, above the limit of {Format.StepFormat.MaxRank}");
    }

    private static FormatException TableTooLong(long step) => new($"the item list of step {step} has a text table longer than itself");

    private static FormatException NamesTooLong(long step) =>
        new($"the item list of step {step} holds names of more than {Values.StateDecoder.MaxItemNameChars} characters in all");

    private static FormatException FrontCodedUtf16(long step) => new($"the item list of step {step} front-codes a name kept as UTF-16");

    private static FormatException KindOutOfRange(long step, ulong kind, int texts) => new($"the item list of step {step} names kind {kind} of {texts} texts");

    private static FormatException TrailingBytes(long step, int bytes) => new($"the item list of step {step} has {bytes} bytes after its last item");

    private static FormatException NotUtf8(long step) => new($"the item list of step {step} holds text that is not UTF-8");

    private static ulong ReadVarint(ReadOnlySpan<byte> body, ref int pos, long step)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (pos >= body.Length)
            {
                throw new FormatException($"the item list of step {step} is cut short");
            }

            var b = body[pos++];
            if (shift == 63 && b > 1)
            {
                break;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new FormatException($"the item list of step {step} holds an integer longer than 64 bits");
    }

    /// <summary>Builds one blob item by item (a save's items, or the rows of a version-1 index being upgraded).</summary>
    internal sealed class Writer
    {
        private readonly Dictionary<string, int> _textIndex = new(StringComparer.Ordinal);
        private readonly List<string> _texts = [];
        private byte[] _body;
        private int _pos;
        private int _count;

        // Most items repeat the previous item's kind and dtype (often the very same string objects): one
        // slot for each, since a slot shared by both missed on every call (kind, dtype, kind, ...).
        private TextSlot _lastKind;
        private TextSlot _lastDType;

        /// <summary>The previous name's UTF-8 bytes (its first <see cref="_previousLength"/>), which the next name is front-coded against.</summary>
        private byte[] _previous = new byte[256];
        private int _previousLength;

        /// <summary>The name being added, encoded before it is compared with <see cref="_previous"/>; then the two swap.</summary>
        private byte[] _current = new byte[256];

        /// <summary>
        /// Items whose stored size is known only once the step's data file is written (tensors): where
        /// the field goes in the body, which item it is and which tensor it is. In item order.
        /// </summary>
        private readonly List<PendingSize> _pending = [];

        /// <summary>Whether <see cref="_body"/> is rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/>.</summary>
        private readonly bool _pooled;

        public Writer(int expectedItems) => _body = new byte[Math.Max(64, expectedItems * 24)];

        /// <summary>
        /// A writer whose body is rented (a save's list, built during the encoder's walk: the next save
        /// reuses its memory); <see cref="Release"/> gives it back.
        /// </summary>
        public Writer(int expectedItems, bool pooled)
        {
            _pooled = pooled;
            _body = pooled ? System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(64, expectedItems * 24)) : new byte[Math.Max(64, expectedItems * 24)];
        }

        /// <summary>Gives a rented body back; the writer must not be used afterwards.</summary>
        public void Release()
        {
            if (_pooled && _body.Length > 0)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(_body);
            }

            _body = [];
            _released = true;
        }

        private bool _released;

        public int Count => _count;

        /// <summary>Characters of every name added so far (a bound the format sets, docs/format.md §6.4).</summary>
        public long NameChars { get; private set; }

        public void Add(string name, string kind, string? dtype, long[]? shape, long size, long storedSize) =>
            Add(name.AsSpan(), kind, dtype, shape, size, storedSize);

        /// <summary>
        /// Adds an item whose name is a span (the encoder's plain leaves compose "parent/key" in a buffer of
        /// their own rather than allocate a string per leaf).
        /// </summary>
        public void Add(ReadOnlySpan<char> name, string kind, string? dtype, long[]? shape, long size, long storedSize)
        {
            AddFields(name, kind, dtype, shape, size);
            WriteVarint((ulong)storedSize);
            _count++;
        }

        /// <summary>
        /// Adds a tensor's item whose stored size is not known yet: <see cref="ToArray(Func{int, long})"/>
        /// writes the stored length of tensor <paramref name="tensorIndex"/> in its place.
        /// </summary>
        public void AddTensor(string name, string kind, string? dtype, long[]? shape, long size, int tensorIndex)
        {
            AddFields(name, kind, dtype, shape, size);
            _pending.Add(new PendingSize(_pos, _count, tensorIndex));
            _count++;
        }

        /// <summary>
        /// The items as records (item order; a tensor's item carries its tensor index, any other -1), for
        /// callers that still take a list: tests, and the remote store's cache.
        /// </summary>
        public List<Values.StoredItem> ToStoredItems()
        {
            var decoded = Decode(0, ToArray(static _ => 0), _count);
            var tensorOf = new Dictionary<int, int>(_pending.Count);
            foreach (var p in _pending)
            {
                tensorOf[p.Item] = p.TensorIndex;
            }

            var items = new List<Values.StoredItem>(decoded.Count);
            for (var i = 0; i < decoded.Count; i++)
            {
                var d = decoded[i];
                items.Add(new Values.StoredItem(d.Name, d.Kind, d.DType, d.Shape?.ToArray(), d.Size, tensorOf.GetValueOrDefault(i, -1)));
            }

            return items;
        }

        private void AddFields(ReadOnlySpan<char> name, string kind, string? dtype, long[]? shape, long size)
        {
            ObjectDisposedException.ThrowIf(_released, this);
            NameChars += name.Length;
            var rank = shape?.Length ?? 0;
            Reserve(20 + (name.Length * 3) + (10 * 5) + (rank * 10));

            // The name is front-coded against the previous one: the count of leading UTF-8 bytes they share, then
            // the rest. It is encoded into the spare name buffer, compared, its unshared bytes copied once into the
            // body, and then it is the previous name (the buffers swap): encoding into the body and moving the
            // unshared bytes down, then copying the name aside, was two copies per item.
            if (_current.Length < name.Length * 3)
            {
                _current = new byte[Math.Max(_current.Length * 2, name.Length * 3)];
            }

            var status = Utf8.FromUtf16(name, _current, out _, out var written, replaceInvalidSequences: false);
            if (status == System.Buffers.OperationStatus.Done)
            {
                var shared = _current.AsSpan(0, written).CommonPrefixLength(_previous.AsSpan(0, _previousLength));
                var suffix = written - shared;
                WriteVarint((ulong)shared);
                WriteVarint((ulong)suffix << 1);
                _current.AsSpan(shared, suffix).CopyTo(_body.AsSpan(_pos));
                _pos += suffix;
                (_previous, _current) = (_current, _previous);
                _previousLength = written;
            }
            else
            {
                // A lone surrogate (names written before today's name grammar may hold one) has no UTF-8
                // form: such a name is kept whole as its UTF-16 code units, so it reads back exactly, and the
                // next name shares nothing with it.
                WriteVarint(0);
                WriteVarint(((ulong)name.Length << 1) | 1);
                foreach (var c in name)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(_body.AsSpan(_pos), c);
                    _pos += 2;
                }

                _previousLength = 0;
            }

            WriteVarint((ulong)TextIndex(kind, ref _lastKind));
            WriteVarint(dtype is null ? 0UL : (ulong)TextIndex(dtype, ref _lastDType) + 1);
            if (shape is null)
            {
                WriteVarint(0);
            }
            else
            {
                WriteVarint((ulong)rank + 1);
                foreach (var d in shape)
                {
                    WriteVarint((ulong)d);
                }
            }

            WriteVarint((ulong)size);
        }

        /// <summary>The finished blob: layout, count, payload length, compressed payload, checksum.</summary>
        public byte[] ToArray() => _pending.Count == 0 ? ToArray(static _ => 0)
            : throw new InvalidOperationException("the list holds tensor items whose stored size is not known yet");

        /// <summary>
        /// The finished blob, each tensor item's stored size taken from <paramref name="storedLengthOfTensor"/>
        /// (by tensor index): layout, count, payload length, the payload (text table, front-coded items) as one
        /// LZ4 block, checksum.
        /// </summary>
        public byte[] ToArray(Func<int, long> storedLengthOfTensor) => ToArray(storedLengthOfTensor, MaxPayloadBytes);

        /// <summary>
        /// <see cref="ToArray(Func{int, long})"/>, refusing a list whose payload or blob is longer than
        /// <paramref name="limitBytes"/> (a save finishes its list before its publish, so a list the index cannot
        /// hold fails the save before anything is published).
        /// </summary>
        /// <exception cref="UnsupportedValueException">The payload or the blob is longer than <paramref name="limitBytes"/>.</exception>
        public byte[] ToArray(Func<int, long> storedLengthOfTensor, long limitBytes)
        {
            ObjectDisposedException.ThrowIf(_released, this);
            var limit = Math.Min(limitBytes, MaxPayloadBytes);
            var head = Head(out var h);
            long length = h + _pos;
            foreach (var p in _pending)
            {
                length += VarintLength((ulong)storedLengthOfTensor(p.TensorIndex));
            }

            if (length > limit)
            {
                throw TooLong(length, limit);
            }

            var payload = System.Buffers.ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                head.AsSpan(0, h).CopyTo(payload);
                var at = h;
                var from = 0;
                foreach (var p in _pending)
                {
                    // Each pending stored size is one varint spliced in where its item ends.
                    _body.AsSpan(from, p.Position - from).CopyTo(payload.AsSpan(at));
                    at += p.Position - from;
                    from = p.Position;
                    at += PutVarint(payload.AsSpan(at), (ulong)storedLengthOfTensor(p.TensorIndex));
                }

                _body.AsSpan(from, _pos - from).CopyTo(payload.AsSpan(at));
                at += _pos - from;

                var frame = new byte[1 + 10 + 10 + K4os.Compression.LZ4.LZ4Codec.MaximumOutputSize(at) + ChecksumLength];
                var f = 0;
                frame[f++] = Layout;
                f += PutVarint(frame.AsSpan(f), (ulong)_count);
                f += PutVarint(frame.AsSpan(f), (ulong)at);
                var block = K4os.Compression.LZ4.LZ4Codec.Encode(payload.AsSpan(0, at), frame.AsSpan(f), K4os.Compression.LZ4.LZ4Level.L00_FAST);
                if (block < 0)
                {
                    throw new InvalidOperationException($"LZ4 could not compress an item list of {at} bytes");
                }

                f += block;
                if (f + ChecksumLength > limit)
                {
                    throw TooLong(f + ChecksumLength, limit);
                }

                var blob = frame.AsSpan(0, f + ChecksumLength).ToArray();
                BinaryPrimitives.WriteUInt64LittleEndian(blob.AsSpan(f), XXH64.DigestOf(blob.AsSpan(0, f)));
                return blob;
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(payload);
            }
        }

        private UnsupportedValueException TooLong(long bytes, long limit) =>
            new("state", string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"its {_count:N0} leaves need an item list of {bytes:N0} bytes in the index, above its limit of {limit:N0} bytes for one step's list (SQLite's largest value), so the save cannot be committed (nothing was published). Store long lists of numbers as arrays or tensors (one item each), or split the state over several steps"));

        /// <summary>The payload's head in a new array: the text table; <paramref name="length"/> bytes of it used.</summary>
        private byte[] Head(out int length)
        {
            var head = new byte[10 + _texts.Sum(t => 10 + Encoding.UTF8.GetMaxByteCount(t.Length))];
            var h = PutVarint(head, (ulong)_texts.Count);
            foreach (var text in _texts)
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                h += PutVarint(head.AsSpan(h), (ulong)bytes.Length);
                bytes.CopyTo(head.AsSpan(h));
                h += bytes.Length;
            }

            length = h;
            return head;
        }

        /// <summary>A tensor item's stored size still to write: its place in the body, its ordinal, its tensor.</summary>
        private readonly record struct PendingSize(int Position, int Item, int TensorIndex);

        private int TextIndex(string text, ref TextSlot last)
        {
            if (ReferenceEquals(text, last.Text))
            {
                return last.Index;
            }

            if (!_textIndex.TryGetValue(text, out var index))
            {
                if (Utf8.FromUtf16(text, new byte[Encoding.UTF8.GetMaxByteCount(text.Length)], out _, out _, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
                {
                    // Kinds and dtypes are short codes from a fixed set; one that is not text is a bug upstream, not a name to keep.
                    throw new ArgumentException($"the kind or dtype '{text}' is not well-formed text", nameof(text));
                }

                index = _texts.Count;
                _textIndex.Add(text, index);
                _texts.Add(text);
            }

            last = new TextSlot(text, index);
            return index;
        }

        /// <summary>A text of the table and its index, remembered from the previous item.</summary>
        private readonly record struct TextSlot(string? Text, int Index);

        private void Reserve(int bytes)
        {
            if (_pos + bytes > _body.Length)
            {
                var size = Math.Max(_body.Length * 2, _pos + bytes);
                if (!_pooled)
                {
                    Array.Resize(ref _body, size);
                    return;
                }

                var grown = System.Buffers.ArrayPool<byte>.Shared.Rent(size);
                _body.AsSpan(0, _pos).CopyTo(grown);
                System.Buffers.ArrayPool<byte>.Shared.Return(_body);
                _body = grown;
            }
        }

        private void WriteVarint(ulong value) => _pos += PutVarint(_body.AsSpan(_pos), value);

        internal static int PutVarint(Span<byte> to, ulong value)
        {
            var n = 0;
            while (value >= 0x80)
            {
                to[n++] = (byte)(value | 0x80);
                value >>= 7;
            }

            to[n++] = (byte)value;
            return n;
        }

        private static int VarintLength(ulong value)
        {
            var n = 1;
            while (value >= 0x80)
            {
                value >>= 7;
                n++;
            }

            return n;
        }
    }
}
