using DataraxCkpt.Storage;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The item list's writer front-codes each name against the previous one, which it keeps in one of two buffers that
/// swap per item and grow for a long name. Names longer than the first buffers, growing and shrinking, sharing long
/// prefixes across a growth, and kept as UTF-16 between them, read back exactly.
/// </summary>
public sealed class ItemListLongNameTests
{
    [Fact]
    public void Long_names_sharing_prefixes_across_buffer_growth_and_lone_surrogates_read_back_exactly()
    {
        var names = new List<string>();
        var stem = "cfg/é/";
        for (var i = 0; i < 60; i++)
        {
            // Each stem longer than the last (past 256, 512, 1,024 bytes), with siblings under it, then a short name,
            // a name with a lone surrogate (no UTF-8 form), and the stem again.
            stem += new string((char)('a' + (i % 26)), 7 * i) + "日/";
            names.Add(stem + "a");
            names.Add(stem + "b");
            names.Add("x" + i);
            names.Add(stem + "\ud800");
            names.Add(stem + "c");
            names.Add(stem[..(stem.Length / 2)]);
        }

        var writer = new ItemListCodec.Writer(names.Count);
        foreach (var name in names)
        {
            writer.Add(name, "scalar", "i32", null, 4, 0);
        }

        var decoded = ItemListCodec.Decode(1, writer.ToArray(), names.Count);
        Assert.Equal(names, decoded.Select(d => d.Name));
    }
}
