using System.Text.Json.Nodes;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>A step written by a newer format is refused with both versions named and is never unlisted or deleted.</summary>
public sealed class FormatVersionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public FormatVersionTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Restoring_a_step_of_a_newer_version_names_both_versions()
    {
        SaveSteps(1, 2);
        StepFiles.Plant(_ck, 2, m => m["version"] = 2);

        var e = Assert.Throws<UnsupportedFormatVersionException>(() => _handler.Restore(_ck, 2));

        Assert.Equal("UnsupportedFormatVersion", e.ErrorId);
        Assert.Equal(2, e.StepVersion);
        Assert.Equal(1, e.SupportedVersion);
        Assert.Equal(2, e.Step);
        Assert.Contains("version 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("version 1", e.Message, StringComparison.Ordinal);
        Assert.NotNull(_handler.Restore(_ck, 1));
        var verification = _handler.Verify(_ck, 2);
        Assert.False(verification.Ok);
        Assert.Contains("version 2", verification.Problems.Single().Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_step_requiring_an_unknown_feature_is_refused_naming_the_feature()
    {
        SaveSteps(1);
        StepFiles.Plant(_ck, 1, m => m["requires"] = new JsonArray("dtype-f8e4m3"));

        var e = Assert.Throws<UnsupportedFormatVersionException>(() => _handler.Restore(_ck, 1));

        Assert.Equal(["dtype-f8e4m3"], e.UnknownFeatures);
        Assert.Contains("dtype-f8e4m3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Optional_features_and_unknown_fields_are_ignored()
    {
        SaveSteps(1);
        StepFiles.Plant(_ck, 1, m =>
        {
            m["optional"] = new JsonArray("hint-something-new");
            m["somethingNew"] = new JsonObject { ["x"] = 1 };
        });

        var restored = (Dictionary<string, object?>)_handler.Restore(_ck, 1)!;
        Assert.Equal(1, restored["n"]);
    }

    [Fact]
    public void A_newer_step_stays_listed_when_the_index_is_rebuilt_or_repaired()
    {
        SaveSteps(1, 2);
        StepFiles.Plant(_ck, 2, m => m["version"] = 2, keepIndex: false);

        Assert.Equal([1L, 2L], _handler.ListCheckpoints(_ck).Select(c => c.Step));
        var report = _handler.RepairIndex(_ck);
        Assert.Empty(report.RowsRemoved);
        Assert.Contains(report.Problems, p => p.Contains("step 2", StringComparison.Ordinal) && p.Contains("version 2", StringComparison.Ordinal));
        Assert.Equal([1L, 2L], _handler.ListCheckpoints(_ck).Select(c => c.Step));
        Assert.True(Directory.Exists(Path.Combine(_ck, "2")));
        Assert.Throws<UnsupportedFormatVersionException>(() => _handler.Restore(_ck, 2));
    }

    [Fact]
    public void Repair_with_the_index_in_place_keeps_a_newer_step()
    {
        SaveSteps(1, 2);
        StepFiles.Plant(_ck, 2, m => m["version"] = 2);

        var report = _handler.RepairIndex(_ck);

        Assert.Empty(report.RowsRemoved);
        Assert.Equal([1L, 2L], _handler.ListCheckpoints(_ck).Select(c => c.Step));
        Assert.True(Directory.Exists(Path.Combine(_ck, "2")));
    }

    [Fact]
    public void Retention_leaves_a_newer_step_alone()
    {
        SaveSteps(1, 2, 3);
        StepFiles.Plant(_ck, 1, m => m["version"] = 2);

        var removed = _handler.Prune(_ck, new RetentionPolicy { Keep = 1 });

        Assert.Equal([2L], removed.Select(c => c.Step));
        Assert.Equal([1L, 3L], _handler.ListCheckpoints(_ck).Select(c => c.Step));
        Assert.True(Directory.Exists(Path.Combine(_ck, "1")));
    }

    [Fact]
    public void A_lower_version_is_refused_as_corrupt()
    {
        SaveSteps(1);
        StepFiles.Plant(_ck, 1, m => m["version"] = 0);

        Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck, 1));
    }

    [Fact]
    public void A_newer_step_whose_feature_lists_are_not_version_1_arrays_is_kept_by_repair_and_refused_as_newer()
    {
        // docs/format.md §4 promises only the header fields keep their meaning in a later version; a
        // version 2 is free to give 'requires' and 'optional' another shape.
        SaveSteps(1, 2);
        StepFiles.Plant(_ck, 2, m =>
        {
            m["version"] = 2;
            m["requires"] = new JsonObject { ["dtype-f8e4m3"] = new JsonObject { ["since"] = 2 } };
            m["optional"] = 7;
        });

        var report = _handler.RepairIndex(_ck);

        Assert.Empty(report.RowsRemoved);
        Assert.Equal([1L, 2L], _handler.ListCheckpoints(_ck).Select(c => c.Step));
        var e = Assert.Throws<UnsupportedFormatVersionException>(() => _handler.Restore(_ck, 2));
        Assert.Equal(2, e.StepVersion);
    }

    [Fact]
    public void Retention_leaves_a_newer_step_alone_whatever_shape_its_feature_lists_have()
    {
        SaveSteps(1, 2, 3);
        StepFiles.Plant(_ck, 1, m =>
        {
            m["version"] = 2;
            m["requires"] = "dtype-f8e4m3";
        });

        var removed = _handler.Prune(_ck, new RetentionPolicy { Keep = 1 });

        Assert.Equal([2L], removed.Select(c => c.Step));
        Assert.True(Directory.Exists(Path.Combine(_ck, "1")));
        Assert.Equal([1L, 3L], _handler.ListCheckpoints(_ck).Select(c => c.Step));
    }

    [Fact]
    public void A_step_requiring_a_hundred_thousand_unknown_features_is_refused_with_a_short_message_naming_each_once()
    {
        SaveSteps(1);
        StepFiles.Plant(_ck, 1, m =>
        {
            var features = new JsonArray();
            for (var i = 0; i < 100_000; i++)
            {
                features.Add($"feature-{i % 50_000:D6}");
            }

            m["requires"] = features;
        });

        var e = Assert.Throws<UnsupportedFormatVersionException>(() => _handler.Restore(_ck, 1));

        Assert.Equal(50_000, e.UnknownFeatures.Count);
        Assert.Equal(50_000, e.UnknownFeatures.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("feature-000000", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Length < 2_000, $"the message is {e.Message.Length} characters long");
        var problem = _handler.Verify(_ck, 1).Problems.Single().Problem;
        Assert.True(problem.Length < 2_000, $"the verification problem is {problem.Length} characters long");
    }

    [Fact]
    public void An_index_of_a_newer_schema_is_refused_as_a_newer_format_and_repair_leaves_it_in_place()
    {
        SaveSteps(1);
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_ck, "index.sqlite")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 4";
            cmd.ExecuteNonQuery();
        }

        var listed = Assert.Throws<UnsupportedFormatVersionException>(() => _handler.ListCheckpoints(_ck));
        Assert.Equal("UnsupportedFormatVersion", listed.ErrorId);
        Assert.Equal(4, listed.StepVersion);
        Assert.Equal(3, listed.SupportedVersion);
        Assert.Null(listed.Step);
        Assert.Contains("index schema version 4", listed.Message, StringComparison.Ordinal);
        Assert.Throws<UnsupportedFormatVersionException>(() => _handler.Save(_ck, new Dictionary<string, object?> { ["n"] = 2 }, step: 2));
        Assert.Throws<UnsupportedFormatVersionException>(() => _handler.RepairIndex(_ck));
        Assert.True(File.Exists(Path.Combine(_ck, "index.sqlite")));
        Assert.Empty(Directory.GetFiles(_ck, "index.sqlite.damaged*"));
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")));
    }

    [Theory]
    [InlineData("2026-11-30T15:20:00.0000000Z", true)]
    [InlineData("2026-11-30T15:20Z", true)]
    [InlineData("2026-11-30T17:20:00+02:00", true)]
    [InlineData("2026-11-30T15:20:00", true)]
    [InlineData("20261130T152000Z", false)]
    [InlineData("2026-W48-1T15:20:00Z", false)]
    [InlineData("2026-334T15:20:00Z", false)]
    public void CreatedUtc_is_read_in_the_forms_docs_format_md_states(string createdUtc, bool accepted)
    {
        SaveSteps(1);
        StepFiles.Plant(_ck, 1, m => m["createdUtc"] = createdUtc);

        if (accepted)
        {
            Assert.Equal(1, ((Dictionary<string, object?>)_handler.Restore(_ck, 1)!)["n"]);
        }
        else
        {
            var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck, 1));
            Assert.Contains("createdUtc", e.Message, StringComparison.Ordinal);
        }
    }

    private void SaveSteps(params long[] steps)
    {
        foreach (var step in steps)
        {
            _handler.Save(_ck, new Dictionary<string, object?> { ["n"] = 1, ["w"] = new float[] { step } }, step: step);
        }
    }
}
