using System.Runtime.ExceptionServices;

namespace MLNetSeg.Evaluation.Coco;

internal static class Parallelism
{
    /// <summary>Parallel.For that rethrows the first failure itself rather than an AggregateException, so messages stay readable.</summary>
    public static void For(int count, int? maxDegreeOfParallelism, Action<int> body)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism ?? -1 };
        try
        {
            Parallel.For(0, count, options, body);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
