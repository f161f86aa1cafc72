using System.Collections;
using System.Collections.Specialized;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack of session 24 on the walk's runs (round 68): the state node, metadata node and item list written for every
/// state of <see cref="Walk24States"/> are byte for byte main's (068ca73). The hashes below were computed by main's
/// engine, built from <c>git archive 068ca73</c> and loaded beside this one in one process (the attack's case-by-case
/// comparison, Hashtables included, ran so: 6,102 cases, none differed; that harness needs main's build and is not kept).
/// </summary>
public sealed class Walk24MainBytesTests
{
    private static readonly Dictionary<string, string> MainHashes = new()
    {
        ["kinds n1"] = "F4E8CE6D911E74992F7DA68FFD171C4086E4C9C8B0F02C6680F4440E6628B1A0",
        ["breakers n1"] = "2EDEF7F321BD437C8F1F06B8DD3D551A3FEB39543F729C2B6D09273B52D0071A",
        ["keys n1"] = "FCD91FBC3B2CC3C49AFC0A8CFDDE9CB88BC052736B220620796C4F7FE582C10A",
        ["kinds n2"] = "2B04322AADA63D55C845FF54145643332333DA326F48BFBC547EBBCA603AD7F5",
        ["breakers n2"] = "20F46E53E445ECF563CDC9406506F41F9FA0116B9CC9263E6AA289B90C924134",
        ["keys n2"] = "8C95A05526A6802B9809491A96BD86718873C1F10D530011B92EC147F406801A",
        ["kinds n15"] = "E11FD2B6AA5BAF01C3EFEFD8464A9A10BD7FA09D0F995A8B92F2E1EF0B32083C",
        ["breakers n15"] = "BCFFE4E1892F00A89A7C9DC2339A372B4605F778D0076BE15671894EE11ECC50",
        ["keys n15"] = "46E9976C26D37381FCBA92A0E71BE45ACAA19C38884F17FCD41ABAED36065A9B",
        ["kinds n16"] = "25E69B69E52D227D8B9C3DFC04C6D36DDEF4D9453A2ACE1C5792E573D5CD0CF7",
        ["breakers n16"] = "A02B3F85EF24EA8F307CF5D90DA7C2922CD6D8953B7E937DBC6AE53BD49D75F8",
        ["keys n16"] = "2AF31728FB4F78904C2D524DCE5FF9C72A3031352E54391CE0CEE2F3A3BB82B2",
        ["kinds n17"] = "EAEC0EAA7F2298C792EC872B9BC43688C3FEB64F0118382889A15A629DF46747",
        ["breakers n17"] = "AC107E07325DF3C0048DEB32EDA36D589CB55EAB44CD4DA43BD4FBD3BDB53E94",
        ["keys n17"] = "992709A8B0FDC8B8FAF6FD6A8BEE314B5F9EA51E607BF75E808A8A7189E99E58",
        ["kinds n18"] = "D9E2777731D192A9710599791D5CFEB6EDDA22C98B436061CD40442F352BF644",
        ["breakers n18"] = "BED30D05DE5F3CEA37DF2CD7795519A071D99173FFBE6F840E887AA4FC19B603",
        ["keys n18"] = "6970FEE111261E8D7BC097D1030102074308AEAAA24B15B27198D0B3385AA1DD",
        ["kinds n33"] = "7975D8190FB710DC749DC39467E25159BFCC238BEFE5D5685EBEBFDB0AC92406",
        ["breakers n33"] = "D6E0BDD0A5F109B6C20A5EED7029430844AA6795A30C1F377192B88B42DDEF87",
        ["keys n33"] = "021E9B3971AF4BCC6005846781DA71554AAD1B8E5A61BCA4BC32B90A5D0FB266",
        ["big"] = "A383D0A6DDECC04366EE4E847815AABD763486D56CEB5CD20D83606F48260753",
        ["long text"] = "EEBE1A2A28E2C693EEF817F7842566B15B85D327FA5EBCFC88C9DE31064978C6",
        ["depth"] = "16AD24E75B545126924D31F0529380E156320458C33C445E615F1B009FB6B2AA",
        ["prefixes"] = "37F73CDC553496272113CA9A31A6316697D875BA3B176F64548128C694C4A330",
        ["fuzz"] = "6048DAA1C6CEC1B06C6D631D78194246BBE271960DA997A9CB2B286DBDB92B5A",
    };

    [Fact]
    public void The_walk_with_runs_writes_mains_node_metadata_and_item_list_bytes_for_every_group_of_run_states()
    {
        Walk24States.Deterministic = true;
        try
        {
            var groups = Walk24States.All().ToList();
            Assert.Equal(MainHashes.Keys.Order(), groups.Select(g => g.Group).Order());
            var differing = groups
                .Where(g => Walk24Digest.Hash(g.Cases.Select(c => Walk24Digest.Head(c.State, c.Meta))) != MainHashes[g.Group])
                .Select(g => g.Group)
                .ToList();
            Assert.Empty(differing);
        }
        finally
        {
            Walk24States.Deterministic = false;
        }
    }

    /// <summary>Saved through the store (the node streamed in 64 KiB pieces, runs crossing them) and restored: equal, items named as main names them.</summary>
    [Fact]
    public void Run_states_crossing_manifest_pieces_save_and_restore_equal()
    {
        using var dir = new TempDirectory();
        using var handler = new CheckpointHandler();
        var step = 0L;
        foreach (var (group, cases) in Walk24States.All().Where(g => g.Group is "big" or "long text" or "prefixes" or "breakers n17" or "keys n16"))
        {
            foreach (var (state, meta) in cases.Where((_, i) => group switch { "big" => i is 2 or 3 or 5, "breakers n17" => i % 29 == 0, "keys n16" => i % 13 == 0, _ => true }))
            {
                var root = state is IDictionary ? state : new Hashtable { ["s"] = state };
                handler.Save(dir.Path, root, step: ++step);
                var restored = handler.Restore(dir.Path, step);
                Assert.True(StateComparer.FirstDifference(root, restored) is null, $"{group} step {step}: {StateComparer.FirstDifference(root, restored)}");
                var encoded = global::DataraxCkpt.Values.StateEncoder.Encode(root, null);
                try
                {
                    Assert.Equal(encoded.Items.Select(x => x.Name), handler.GetItems(dir.Path, step).Select(x => x.Name));
                }
                finally
                {
                    encoded.Release();
                }
            }
        }
    }

    /// <summary>
    /// A hashtable and a list of plain entries (runs) changed by another thread while they are saved: each save either
    /// fails and leaves no step, or leaves a step whose node and item list agree (both written by the same walk); the
    /// next save of a quiet state succeeds.
    /// </summary>
    [Fact]
    public void A_container_changed_by_another_thread_mid_run_leaves_no_step_or_a_step_whose_node_and_items_agree()
    {
        using var dir = new TempDirectory();
        using var handler = new CheckpointHandler();
        var table = new Hashtable();
        var list = new List<object?>();
        for (var i = 0; i < 20_000; i++)
        {
            table["k" + i] = i;
            list.Add("v" + i);
        }

        var state = new Hashtable { ["t"] = table, ["l"] = list };
        using var stop = new CancellationTokenSource();
        var writer = new Thread(() =>
        {
            var r = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                lock (table)
                {
                    var k = r.Next(20_000);
                    table["k" + k] = k + 1;
                    table.Remove("x" + (k - 1));
                    table["x" + k] = "new";
                }

                lock (list)
                {
                    list.Add("w");
                    list.RemoveAt(list.Count - 1);
                }
            }
        }) { IsBackground = true };
        writer.Start();
        var failed = 0;
        var saved = 0;
        for (var step = 1; step <= 12; step++)
        {
            try
            {
                handler.Save(dir.Path, state, step: step);
                saved++;
                var restored = (Hashtable)handler.Restore(dir.Path, step)!;
                var items = handler.GetItems(dir.Path, step);
                Assert.Equal(((Hashtable)restored["t"]!).Count + ((IList)restored["l"]!).Count, items.Count);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException)
            {
                failed++;
                Assert.DoesNotContain(step, handler.GetCheckpointSteps(dir.Path));
            }
        }

        stop.Cancel();
        writer.Join();
        handler.Save(dir.Path, state, step: 100);
        Assert.Null(StateComparer.FirstDifference(state, handler.Restore(dir.Path, 100)));
        Assert.Equal(12, failed + saved);
    }
}
