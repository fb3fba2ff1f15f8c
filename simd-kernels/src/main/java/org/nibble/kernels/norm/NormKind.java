package org.nibble.kernels.norm;

/**
 * The per-row float normalizations of {@link RowNorm} / {@link RowNormScalar} (papers.md §0, §1.6, §5). Each row
 * {@code x} of width {@code d} becomes {@code x̂ = (x - c)·r} and {@code y = γ⊙x̂ + β} (gain and bias optional).
 *
 * <pre>
 * kind            centre c      statistic                              r
 * LAYERNORM       mean(x)       σ² = mean((x-c)²)                      1/sqrt(σ² + ε)
 * RMSNORM         0             mean(x²)                               1/sqrt(mean(x²) + ε)
 * CRMSNORM        0             (Σx² + (Σx)²)/(d+1)   (§5, the d+1-wide zero-mean vector compressed to d)
 * L1              mean(x)       σ1 = mean(|x-c|)                       1/(σ1 + ε)
 * L1_NONCENTRED   0             mean(|x|)                              1/(mean|x| + ε)
 * </pre>
 * SRMSNorm is {@code RMSNORM} without gain.
 */
public enum NormKind {
    LAYERNORM(true, false),
    RMSNORM(false, false),
    CRMSNORM(false, false),
    L1(true, true),
    L1_NONCENTRED(false, true);

    private final boolean centred;
    private final boolean l1;

    NormKind(boolean centred, boolean l1) {
        this.centred = centred;
        this.l1 = l1;
    }

    /** True when the row mean is subtracted (the per-row statistic saved is the mean). */
    public boolean centred() {
        return centred;
    }

    /** True for the mean-absolute-deviation kinds (r = 1/(σ1+ε), backward uses signs). */
    public boolean l1() {
        return l1;
    }

    /** True when the forward saves a per-row statistic in {@code stat}: the mean, or the row sum for CRMSNORM. */
    public boolean savesStat() {
        return centred || this == CRMSNORM;
    }

    /** Lower-case name used in error messages. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
