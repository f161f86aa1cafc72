using DataraxCkpt;
using Xunit;

namespace DataraxCkpt.Tests.Errors;

/// <summary>
/// <see cref="CheckpointException.Redacted"/> on every subtype: the copy keeps type, error id and step, names the shown
/// location, and no text it carries (message, directory, string properties, inner exceptions, ToString) holds the secret.
/// </summary>
public sealed class RedactedExceptionTests
{
    private const string Secret = "SECRETSIG";
    private const string Raw = "/runs/a?sv=1&sig=" + Secret;
    private const string Shown = "/runs/a?<redacted>";


    private static string ShowLocation(string location) => location == Raw ? Shown : location;

    private static string Scrub(string text) => text.Replace("sig=" + Secret, "<redacted>", StringComparison.Ordinal);

    private static IEnumerable<CheckpointException> All()
    {
        var info = new CheckpointInfo(3, Raw + "/3", Raw, DateTimeOffset.UnixEpoch, 1, 1, 1, new Dictionary<string, object?>(), pinned: false);
        yield return new CheckpointDirectoryNotFoundException(Raw);
        yield return new NoCheckpointsException(Raw);
        yield return new StepNotFoundException(Raw, 9, [1, 2]);
        yield return new StepExistsException(Raw, 1);
        yield return new CorruptCheckpointException(Raw, 2, $"{Raw}/2/tensors.lz4", $"'{Raw}/2/tensors.lz4' is short", new IOException($"cannot read '{Raw}/2/tensors.lz4'"));
        yield return new CorruptCheckpointException(Raw, null, null, "the index is damaged", new InvalidOperationException("x", new IOException($"at {Raw}")));
        yield return new StepPinnedException(Raw, 1);
        yield return new UnsupportedFormatVersionException(Raw, 4, 9, 1, ["f"]);
        yield return new UnsupportedFormatVersionException(Raw, 9, 1);
        yield return new RetentionFailedException(info, 1, new AggregateException(new IOException($"cannot move '{Raw}/1'"), new CorruptCheckpointException(Raw, 1, null, "bad")));
        yield return new UnsupportedFileSystemException(Raw, "NFS");
        yield return new FileLockingDisabledException(Raw);
        yield return new StoreAccessDeniedException(Raw, "write", "commits/1", "403", "grant it", new IOException($"refused {Raw}"));
    }

    [Fact]
    public void EveryKindIsRebuiltOnTheShownLocationWithNoSecretLeft()
    {
        foreach (var original in All())
        {
            Assert.Contains(Secret, original.ToString(), StringComparison.Ordinal);
            CheckpointException redacted;
            try
            {
                throw original;
            }
            catch (CheckpointException thrown)
            {
                redacted = thrown.Redacted(ShowLocation, Scrub);
            }

            var kind = original.GetType().Name;
            Assert.NotSame(original, redacted);
            Assert.IsType(original.GetType(), redacted);
            Assert.Equal(original.ErrorId, redacted.ErrorId);
            Assert.Equal(original.Step, redacted.Step);
            Assert.Equal(Shown, redacted.Directory);
            Assert.Contains(Shown, redacted.Message, StringComparison.Ordinal);
            Assert.Equal(original.Message.Replace(Raw, Shown, StringComparison.Ordinal), redacted.Message);
            Assert.Contains(nameof(EveryKindIsRebuiltOnTheShownLocationWithNoSecretLeft), redacted.ToString(), StringComparison.Ordinal);
            foreach (var text in TextsOf(redacted))
            {
                Assert.False(text.Contains(Secret, StringComparison.Ordinal), $"{kind}: '{text}'");
            }
        }
    }

    [Fact]
    public void AnExceptionWithNothingToRedactIsReturnedItself()
    {
        var plain = new StepNotFoundException("/runs/a?what", 9);
        Assert.Same(plain, plain.Redacted(ShowLocation, Scrub));
        var value = new UnsupportedValueException("state.f", "a script block");
        Assert.Same(value, value.Redacted(ShowLocation, Scrub));
    }

    [Fact]
    public void TextsWithoutADirectoryAreScrubbed()
    {
        var value = new UnsupportedValueException($"state['{Raw}']", "a script block");
        var redacted = Assert.IsType<UnsupportedValueException>(value.Redacted(ShowLocation, Scrub));
        Assert.DoesNotContain(Secret, redacted.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, redacted.ValuePath, StringComparison.Ordinal);
        var state = new IncompatibleStateException($"w{Raw}", "float32 [2]", "float32 [3]");
        var shownState = Assert.IsType<IncompatibleStateException>(state.Redacted(ShowLocation, Scrub));
        Assert.DoesNotContain(Secret, shownState.ToString(), StringComparison.Ordinal);
        Assert.Equal("float32 [3]", shownState.Found);
    }

    private static IEnumerable<string> TextsOf(Exception exception)
    {
        yield return exception.ToString();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            foreach (var property in e.GetType().GetProperties())
            {
                var value = property.GetIndexParameters().Length == 0 ? property.GetValue(e) : null;
                switch (value)
                {
                    case string s:
                        yield return s;
                        break;
                    case CheckpointInfo c:
                        yield return c.Directory;
                        yield return c.Path;
                        break;
                    case IEnumerable<string> list:
                        foreach (var s in list)
                        {
                            yield return s;
                        }

                        break;
                }
            }

            if (e is AggregateException aggregate)
            {
                foreach (var part in aggregate.InnerExceptions)
                {
                    foreach (var s in TextsOf(part))
                    {
                        yield return s;
                    }
                }
            }
        }
    }
    /// <summary>A checkpoint exception a program defines for itself (the base's constructor is protected).</summary>
    private sealed class ProgramDefinedException : CheckpointException
    {
        public ProgramDefinedException(string directory)
            : base("ProgramDefined", $"could not finish '{directory}'", directory, 5)
        {
        }
    }

    [Fact]
    public void A_checkpoint_exception_a_program_defines_is_shown_as_a_stand_in_with_its_id_step_and_no_secret()
    {
        // The per-type rebuild is an override only this library can write; a subtype from outside must still redact.
        var original = new ProgramDefinedException(Raw);
        var shown = original.Redacted(ShowLocation, Scrub);
        Assert.NotSame(original, shown);
        Assert.Equal("ProgramDefined", shown.ErrorId);
        Assert.Equal(5, shown.Step);
        Assert.Equal(Shown, shown.Directory);
        Assert.DoesNotContain(Secret, shown.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, shown.ToString(), StringComparison.Ordinal);
        Assert.StartsWith(typeof(ProgramDefinedException).FullName + " (redacted)", shown.ToString(), StringComparison.Ordinal);
        var plain = new ProgramDefinedException("/runs/plain");
        Assert.Same(plain, plain.Redacted(ShowLocation, Scrub));
    }
}
