using DataraxCkpt.Format;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The save writer groups up to four large unfiltered chunks into one task (one thread). Found by the final review of
/// session 10: on eight cores a window of sixteen chunks then held four tasks, so chunks that compress ran on half
/// the cores. Grouping may only be used where the window still gives every core a task.
/// </summary>
public sealed class StoredGroupParallelismTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(256)]
    public void The_writer_window_holds_at_least_one_task_per_core_whatever_the_group_size(int cores)
    {
        var window = StepWriter.WindowFor(cores);
        var group = StepWriter.GroupSizeFor(cores);

        // The writer always lets two batches run, and otherwise as many as the window's weight allows.
        var tasks = Math.Max(2, window / group);

        Assert.True(tasks >= cores, $"{cores} cores: a window of {window} chunks in groups of {group} runs {tasks} tasks");
        Assert.InRange(group, 1, 4);
    }

    [Fact]
    public void Two_cores_keep_the_groups_of_four_that_were_measured()
    {
        Assert.Equal(4, StepWriter.GroupSizeFor(2));
        Assert.Equal(1, StepWriter.GroupSizeFor(8));
    }
}
