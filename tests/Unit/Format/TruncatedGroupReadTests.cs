using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// A data file cut short inside a group of stored chunks (the reader reads four per thread and checks their
/// checksums side by side) is corruption like any other: reported with the step and an item, in restore,
/// restore-into, verification and statistics; and when the file shrinks under an open reader, the error
/// names the tensor's item, never an EndOfStreamException or a bare IOException.
/// </summary>
public sealed class TruncatedGroupReadTests : IDisposable
{
    private const int Chunk = 4 << 20;
    private const int Bytes = (16 << 20) + (1 << 20);
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;
    private readonly string _data;

    public TruncatedGroupReadTests()
    {
        _ck = Path.GetFullPath(_dir.Sub("checkpoints"));
        _handler.Save(_ck, new Dictionary<string, object?> { ["n"] = Noise(Bytes) }, step: 1);
        _data = Path.Combine(_ck, "1", StepFormat.DataFile);
        Assert.Equal(4 * Lz4Frame.StoredFrameLength(Chunk) + Lz4Frame.StoredFrameLength(1 << 20), new FileInfo(_data).Length);
    }

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    /// <summary>Where the file ends: (chunk of the first group, byte inside its frame).</summary>
    public static TheoryData<int, int> CutPlaces => new()
    {
        { 0, 0 },                                                   // before the first chunk
        { 0, 7 },                                                   // inside the first frame's header
        { 0, Lz4Frame.StoredPrefixLength + 1000 },                  // inside the first chunk's bytes
        { 1, 3 },                                                   // the middle: a frame's header
        { 2, Lz4Frame.StoredPrefixLength + 2_000_000 },             // the middle: a chunk's bytes
        { 3, Lz4Frame.StoredFrameLength(Chunk) - 2 },               // the last of the group: its trailer
        { 3, Lz4Frame.StoredFrameLength(Chunk) - Lz4Frame.StoredTrailerLength }, // the last: its end mark
    };

    private long At(int chunk, int inFrame) => (long)chunk * Lz4Frame.StoredFrameLength(Chunk) + inFrame;

    private void Cut(long length)
    {
        using var file = new FileStream(_data, FileMode.Open, FileAccess.ReadWrite);
        file.SetLength(length);
    }

    [Theory]
    [MemberData(nameof(CutPlaces))]
    public void A_data_file_cut_inside_a_group_of_stored_chunks_is_corruption_of_the_step_everywhere_it_is_read(int chunk, int inFrame)
    {
        Cut(At(chunk, inFrame));

        var restore = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck));
        var template = new Dictionary<string, object?> { ["n"] = new int[Bytes / 4] };
        var into = Assert.Throws<CorruptCheckpointException>(() => _handler.RestoreInto(_ck, template));
        var stats = Assert.Throws<CorruptCheckpointException>(() => _handler.GetStatistics(_ck, 1));
        var verify = _handler.Verify(_ck, 1);

        foreach (var e in new[] { restore, into, stats })
        {
            Assert.Equal(1, e.Step);
            Assert.Equal(StepFormat.DataFile, e.Item);
            Assert.Contains($"Checkpoint step 1 in '{_ck}' is corrupt (item '{StepFormat.DataFile}')", e.Message, StringComparison.Ordinal);
        }

        Assert.False(verify.Ok);
        Assert.Contains(verify.Problems, p => p.Item == StepFormat.DataFile);
    }

    [Theory]
    [MemberData(nameof(CutPlaces))]
    public void A_data_file_that_shrinks_under_an_open_reader_fails_naming_the_item(int chunk, int inFrame)
    {
        using var reader = StepReader.Open(new StepFolders(_ck), Path.Combine(_ck, "1"), 1, expectedManifestHash: null);
        Cut(At(chunk, inFrame));

        var load = Assert.Throws<InvalidDataException>(() => reader.LoadTensor(0, typeof(int[]), "n", null));
        Assert.StartsWith("item 'n': ", load.Message, StringComparison.Ordinal);
        var problems = reader.VerifyAll();
        Assert.NotEmpty(problems);
        Assert.All(problems, p => Assert.Equal("n", p.Item));
        var buffer = new byte[Chunk];
        Assert.Throws<InvalidDataException>(() => reader.DecodeChunkInto(0, chunk, buffer));
    }

    private static int[] Noise(int bytes)
    {
        var raw = new byte[bytes];
        new Random(5).NextBytes(raw);
        var values = new int[bytes / 4];
        Buffer.BlockCopy(raw, 0, values, 0, bytes);
        return values;
    }
}
