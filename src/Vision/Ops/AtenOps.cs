using MLNetSeg.Torch;

namespace MLNetSeg.Vision.Ops;

/// <summary>
/// What the vision ops need beyond MLNetSeg.Torch's public surface (tensor methods and
/// <see cref="Functional"/>, which the ops call directly): the aten embedding_bag the composed
/// RoIAlign is built on, called through the dispatcher so it runs on any device and records
/// autograd, and the shape checks shared by the ops.
/// </summary>
internal static class AtenOps
{
    private static readonly Op EmbeddingBagOp = new("embedding_bag");

    /// <summary>F.embedding_bag(mode="sum") with per-sample weights: out[b] = Σ w[i]·weight[indices[i]]
    /// over the bag's entries. Differentiable w.r.t. <paramref name="weight"/>.</summary>
    public static Tensor EmbeddingBagSum(Tensor weight, Tensor indices, Tensor offsets, Tensor perSampleWeights)
    {
        var r = EmbeddingBagOp.InvokeMany(weight, indices, offsets, false, 0L, false, perSampleWeights, false);
        for (int i = 1; i < r.Length; i++) r[i]?.Dispose();
        return r[0]!;
    }

    /// <summary>Throws unless <paramref name="t"/> is [N, <paramref name="cols"/>].</summary>
    public static void CheckShape2(Tensor t, long cols, string what, string where)
    {
        var s = t.Shape;
        if (s.Length != 2 || s[1] != cols)
            throw new ArgumentException($"{where}: {what} must be a [N, {cols}] tensor, got [{string.Join(", ", s)}]");
    }

    /// <summary>Throws unless <paramref name="t"/> is [<paramref name="n"/>].</summary>
    public static void CheckShape1(Tensor t, long n, string what, string where)
    {
        var s = t.Shape;
        if (s.Length != 1 || s[0] != n)
            throw new ArgumentException($"{where}: {what} must be a [{n}] tensor, got [{string.Join(", ", s)}]");
    }
}
