namespace DataraxCkpt.Format;

/// <summary>
/// Runs a task on a pool thread, or on the thread that waits for it when no pool thread has started it by then
/// (a blocking wait with no timeout runs a task inline when its scheduler allows, and this one always does). Work
/// that only overlaps the caller's own, like the data file's fsync during the manifest's write or a save's chunk
/// compression, then never waits for a pool thread: on a starved pool (its maximum reached, every thread blocked)
/// the waiter does it, as it did before the work overlapped, and the pool's item that starts later finds it done.
/// </summary>
internal sealed class PoolOrWaiter : TaskScheduler
{
    public static PoolOrWaiter Instance { get; } = new();

    private PoolOrWaiter()
    {
    }

    /// <summary>
    /// Starts <paramref name="work"/> on the pool; waiting for the task runs it if no pool thread took it yet. Inside
    /// it the current scheduler is the default one, so tasks it starts are not made to run inline.
    /// </summary>
    public static Task Run(Action work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach | TaskCreationOptions.HideScheduler, Instance);

    /// <inheritdoc cref="Run(Action)"/>
    public static Task<T> Run<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach | TaskCreationOptions.HideScheduler, Instance);

    /// <summary>
    /// Waits for overlapped work on a path that is already failing (running it here if no pool thread took it): the work
    /// reads or holds what the caller is about to release, and its own failure loses to the one on its way to the caller.
    /// </summary>
    public static void WaitIgnoringFailure(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            // The first failure is the caller's.
        }
    }

    protected override void QueueTask(Task task) =>
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Scheduler.TryExecuteTask(state.Task), (Scheduler: this, Task: task), preferLocal: false);

    /// <summary>Always: a task not started yet runs on the waiting thread (a started one is not run twice).</summary>
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => TryExecuteTask(task);

    protected override IEnumerable<Task>? GetScheduledTasks() => null;
}
