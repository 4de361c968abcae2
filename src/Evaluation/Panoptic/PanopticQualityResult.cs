namespace MLNetSeg.Evaluation.Panoptic;

/// <summary>Averages over a group of categories (panopticapi <c>pq_average</c>): only categories with
/// at least one TP, FP or FN count (<see cref="N"/>); NaN when there are none.</summary>
public sealed record PqSummary(double Pq, double Sq, double Rq, int N);

/// <summary>One category: PQ = SQ × RQ with SQ = ΣIoU / TP and RQ = TP / (TP + FP/2 + FN/2).
/// A category with no TP, FP or FN gets 0 everywhere, as panopticapi reports it.</summary>
public sealed record PqClassResult(double Pq, double Sq, double Rq, int Tp, int Fp, int Fn, double IouSum);

/// <summary>Panoptic quality for all categories, things and stuff, and per category id.</summary>
public sealed record PanopticQualityResult(PqSummary All, PqSummary Things, PqSummary Stuff, IReadOnlyDictionary<int, PqClassResult> PerClass);
