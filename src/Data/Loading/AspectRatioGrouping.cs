namespace MLNetSeg.Data.Loading;

/// <summary>
/// Batches of images that share an aspect-ratio group, with torchvision's
/// <c>GroupedBatchSampler</c> (references/detection/group_by_aspect_ratio.py) and its default
/// two groups (<c>create_aspect_ratio_groups(k=0)</c>: bins [1.0] on height / width).
/// </summary>
/// <remarks>
/// Why torchvision's sampler and not detectron2's <c>AspectRatioGroupedDataset</c>: it works on
/// indices before any image is decoded (groups come from the annotation file's sizes), yields a
/// fixed number of batches per epoch (⌊N / B⌋), and is a pure function of the sampler order, which
/// makes epochs reproducible however many workers decode. Its consequences, kept on purpose: at
/// the end of an epoch the leftover partial groups are completed, largest first, with that
/// group's first samples of the epoch (so a few images appear twice and up to B − 1 are left out),
/// and a square image (h / w = 1) falls in the portrait group, as in both torchvision
/// (bisect_right) and detectron2 (<c>0 if w &gt; h else 1</c>).
/// </remarks>
public static class AspectRatioGrouping
{
    /// <summary>0 when height / width &lt; 1 (landscape), 1 otherwise (portrait or square).</summary>
    /// <param name="height">Image height in pixels (positive).</param>
    /// <param name="width">Image width in pixels (positive).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static int GroupOf(int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"image size must be positive, got {height}x{width}");
        return (double)height / width >= 1.0 ? 1 : 0;
    }

    /// <summary>
    /// The batches torchvision's <c>GroupedBatchSampler(sampler, groupIds, batchSize)</c> yields when
    /// the sampler yields <paramref name="order"/>: every batch holds <paramref name="batchSize"/>
    /// indices of one group, ⌊order.Count / batchSize⌋ batches in all.
    /// </summary>
    /// <param name="order">Dataset indices in sampling order (a shuffled epoch).</param>
    /// <param name="groupIds">Group of every dataset index (non-negative).</param>
    /// <param name="batchSize">Images per batch (at least 1).</param>
    /// <returns>The batches, each an array of <paramref name="batchSize"/> dataset indices, in the order they are yielded.</returns>
    public static IReadOnlyList<int[]> GroupedBatches(IReadOnlyList<int> order, IReadOnlyList<int> groupIds, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(order);
        ArgumentNullException.ThrowIfNull(groupIds);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size must be at least 1, got {batchSize}");
        var buffers = new Dictionary<int, List<int>>();
        var samples = new Dictionary<int, List<int>>();
        // Python's dict keeps insertion order, and the reference deletes a group's buffer after yielding
        // it and immediately re-creates it (the assert after `del` touches the defaultdict), so a group
        // moves to the end of the order whenever it completes a batch. The tail step sorts by buffer
        // length with a stable sort over that order.
        var groupOrder = new List<int>();
        var batches = new List<int[]>();
        foreach (int idx in order)
        {
            if ((uint)idx >= (uint)groupIds.Count)
                throw new ArgumentOutOfRangeException(nameof(order), $"index {idx} has no group id ({groupIds.Count} given)");
            int g = groupIds[idx];
            if (g < 0) throw new ArgumentOutOfRangeException(nameof(groupIds), $"group id of index {idx} is {g}; group ids must be non-negative");
            if (!buffers.TryGetValue(g, out var buffer))
            {
                buffers[g] = buffer = new List<int>();
                samples[g] = new List<int>();
                groupOrder.Add(g);
            }
            buffer.Add(idx);
            samples[g].Add(idx);
            if (buffer.Count == batchSize)
            {
                batches.Add(buffer.ToArray());
                buffer.Clear();
                groupOrder.Remove(g);
                groupOrder.Add(g);
            }
        }
        int remaining = order.Count / batchSize - batches.Count;
        if (remaining > 0)
        {
            // OrderByDescending is a stable sort, like Python's sorted(..., reverse=True).
            foreach (int g in groupOrder.OrderByDescending(g => buffers[g].Count).ToList())
            {
                var buffer = buffers[g];
                int missing = batchSize - buffer.Count;
                // The group's first samples of the epoch, cycled when the group is smaller than the gap
                // (later torchvision versions do this with _repeat_to_at_least; 0.14 asserts instead).
                var pool = samples[g];
                for (int i = 0; i < missing; i++) buffer.Add(pool[i % pool.Count]);
                batches.Add(buffer.ToArray());
                if (--remaining == 0) break;
            }
        }
        return batches;
    }
}
