package org.nibble.models.norm;

import org.nibble.engine.Scope;

/**
 * Options of {@link Norm#create}: one fluent, mutable bag for all kinds; each kind reads the fields it needs and
 * uses its published default where a field is left unset. {@code NormOptions.defaults().params(scope)} is enough
 * for every kind.
 *
 * <p>Defaults: ε 1e-5 (LayerNorm, L1, int-l1, PowerNorm, Unified), 1e-6 (RMSNorm, SRMSNorm, CRMSNorm, BHyT);
 * bias on for LayerNorm, L1, int-l1, DyT, PowerNorm, Unified, off for RMSNorm, CRMSNorm, BHyT (papers.md §0, §6, §7,
 * §9); output scale 1 (LayerNorm Scaling, papers.md §4, sets 1/sqrt(ℓ)).
 */
public final class NormOptions {
    private Scope params;
    private String prefix;
    private float eps = Float.NaN;
    private float scale = 1f;
    private Boolean bias;
    private int groupNum = 1;
    private int warmupIters = -1;
    private float alphaFwd = 0.9f;
    private float alphaBkw = 0.9f;
    private int windowSize = 4;
    private float momentum = 0.9f;
    private boolean outlierFiltration;
    private boolean exactBackward;
    private float dytAlpha = 0.5f;
    private float bhytLambda = 1f;
    private float bhytKappa = 10f;
    private float intOutScale = 8f / 127;

    /** All defaults; set {@link #params(Scope)} before creating a norm with parameters. */
    public static NormOptions defaults() {
        return new NormOptions();
    }

    /** The long-lived scope parameters (and their gradients) are allocated in. */
    public NormOptions params(Scope s) {
        this.params = s;
        return this;
    }

    public Scope params() {
        return params;
    }

    /** Parameter name prefix, e.g. {@code blocks.3.ln1} (default: the norm's name). */
    public NormOptions prefix(String p) {
        this.prefix = p;
        return this;
    }

    public String prefix() {
        return prefix;
    }

    /** ε (unset: the kind's default). */
    public NormOptions eps(float e) {
        if (!(e > 0) || Float.isInfinite(e)) {
            throw new IllegalArgumentException("eps: expected a finite value > 0, got " + e);
        }
        this.eps = e;
        return this;
    }

    /** ε if set, else {@code kindDefault}. */
    public float epsOr(float kindDefault) {
        return Float.isNaN(eps) ? kindDefault : eps;
    }

    /** Output scale: the norm returns {@code scale·N(x)} (LayerNorm Scaling uses 1/sqrt(ℓ)). */
    public NormOptions scale(float s) {
        if (!Float.isFinite(s) || s == 0) {
            throw new IllegalArgumentException("scale: expected a finite non-zero value, got " + s);
        }
        this.scale = s;
        return this;
    }

    public float scale() {
        return scale;
    }

    /** Whether the norm has a learnable bias β (unset: the kind's default). */
    public NormOptions bias(boolean b) {
        this.bias = b;
        return this;
    }

    /** β on/off if set, else {@code kindDefault}. */
    public boolean biasOr(boolean kindDefault) {
        return bias == null ? kindDefault : bias;
    }

    /** PowerNorm's GroupScaling1D group count (number of attention heads; default 1). */
    public NormOptions groupNum(int g) {
        if (g < 1) {
            throw new IllegalArgumentException("groupNum: expected >= 1, got " + g);
        }
        this.groupNum = g;
        return this;
    }

    public int groupNum() {
        return groupNum;
    }

    /** Warm-up iterations of PowerNorm (default 10000) / Unified Normalization (default 4000). */
    public NormOptions warmupIters(int w) {
        if (w < 0) {
            throw new IllegalArgumentException("warmupIters: expected >= 0, got " + w);
        }
        this.warmupIters = w;
        return this;
    }

    /** Warm-up iterations if set, else {@code kindDefault}. */
    public int warmupItersOr(int kindDefault) {
        return warmupIters < 0 ? kindDefault : warmupIters;
    }

    /** PowerNorm forward EMA factor (0.9). */
    public NormOptions alphaFwd(float a) {
        this.alphaFwd = checkUnit("alphaFwd", a);
        return this;
    }

    public float alphaFwd() {
        return alphaFwd;
    }

    /** PowerNorm backward EMA factor (0.9). */
    public NormOptions alphaBkw(float a) {
        this.alphaBkw = checkUnit("alphaBkw", a);
        return this;
    }

    public float alphaBkw() {
        return alphaBkw;
    }

    /** Unified Normalization window (4). */
    public NormOptions windowSize(int w) {
        if (w < 1) {
            throw new IllegalArgumentException("windowSize: expected >= 1, got " + w);
        }
        this.windowSize = w;
        return this;
    }

    public int windowSize() {
        return windowSize;
    }

    /** Unified Normalization momentum (0.9). */
    public NormOptions momentum(float m) {
        this.momentum = checkUnit("momentum", m);
        return this;
    }

    public float momentum() {
        return momentum;
    }

    /** Unified Normalization adaptive outlier filtration (false: the NLP setting). */
    public NormOptions outlierFiltration(boolean on) {
        this.outlierFiltration = on;
        return this;
    }

    public boolean outlierFiltration() {
        return outlierFiltration;
    }

    /**
     * Batch-statistic norms only: use the exact gradient of the forward actually computed instead of the official
     * approximate backward (not in the papers; for gradient checks and ablations).
     */
    public NormOptions exactBackward(boolean on) {
        this.exactBackward = on;
        return this;
    }

    public boolean exactBackward() {
        return exactBackward;
    }

    /** DyT α init (0.5). */
    public NormOptions dytAlpha(float a) {
        this.dytAlpha = a;
        return this;
    }

    public float dytAlpha() {
        return dytAlpha;
    }

    /** BHyT λ init (1). */
    public NormOptions bhytLambda(float l) {
        this.bhytLambda = l;
        return this;
    }

    public float bhytLambda() {
        return bhytLambda;
    }

    /** BHyT κ (10). */
    public NormOptions bhytKappa(float k) {
        if (!(k > 0) || Float.isInfinite(k)) {
            throw new IllegalArgumentException("bhytKappa: expected a finite value > 0, got " + k);
        }
        this.bhytKappa = k;
        return this;
    }

    public float bhytKappa() {
        return bhytKappa;
    }

    /** Fixed output scale of the integer L1 norm's int8 codes (8/127: ±8 covers L1-normalized rows). */
    public NormOptions intOutScale(float s) {
        if (!(s > 0) || Float.isInfinite(s)) {
            throw new IllegalArgumentException("intOutScale: expected a finite value > 0, got " + s);
        }
        this.intOutScale = s;
        return this;
    }

    public float intOutScale() {
        return intOutScale;
    }

    private static float checkUnit(String name, float v) {
        if (!(v >= 0 && v < 1)) {
            throw new IllegalArgumentException(name + ": expected a value in [0, 1), got " + v);
        }
        return v;
    }
}
