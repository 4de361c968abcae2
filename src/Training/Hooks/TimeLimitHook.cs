namespace MLNetSeg.Training;

/// <summary><see cref="ScheduleOptions.MaxTrainingTime"/>: stops a fixed-length run whose training time ran out.</summary>
internal sealed class TimeLimitHook(TimeSpan limit) : TrainingHook
{
    public override void AfterStep(TrainingContext context, StepResult step)
    {
        if (context.StopRequested || context.Schedule.IsComplete(context.Iteration, context.TrainingTime)) return;
        if (context.TrainingTimeThisCall < limit) return;
        context.StopRequested = context.StoppedByTimeLimit = true;
        context.Log($"training time limit {limit} reached at iteration {context.Iteration} of {context.TotalIterations}: finishing now");
    }
}
