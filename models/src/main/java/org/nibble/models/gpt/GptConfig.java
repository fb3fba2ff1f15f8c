package org.nibble.models.gpt;

/**
 * Shape and options of a GPT decoder.
 *
 * @param layers    number of blocks L
 * @param dim       model width C
 * @param heads     attention heads (must divide {@code dim})
 * @param ctx       maximum context (learned positions)
 * @param vocab     vocabulary size (256 for bytes)
 * @param placement norm placement
 * @param norm      norm name (see {@link Norms#create})
 * @param bits      32 = FP32 Linear layers; 4, 6, 8 = ShiftQuant training (activations and weights)
 * @param gradBits  ShiftQuant width of the backward matmuls (gradient GEMMs); 0 = same as {@code bits}
 * @param embedBits 32 = FP32 tied LM head; 8 = its three matmuls (logits, input and weight gradients) run as
 *                  8-bit ShiftQuant like the Linear layers (the embedding lookup stays an exact FP32 gather)
 * @param embedNorm Peri-LN embedding norm {@code x0 = N(embed)} (only used by PERI)
 * @param mixAlpha  Mix-LN fraction of leading Post-LN blocks (only used by MIX)
 */
public record GptConfig(int layers, int dim, int heads, int ctx, int vocab, Placement placement, String norm,
                        int bits, int gradBits, int embedBits, boolean embedNorm, double mixAlpha) {

    /** Default byte vocabulary. */
    public static final int BYTE_VOCAB = 256;

    public GptConfig {
        positive("layers", layers);
        positive("dim", dim);
        positive("heads", heads);
        positive("ctx", ctx);
        positive("vocab", vocab);
        if (dim % heads != 0) {
            throw new IllegalArgumentException("heads: expected a divisor of dim=" + dim + ", got " + heads);
        }
        if (placement == null) {
            throw new NullPointerException("placement is null");
        }
        if (norm == null) {
            throw new NullPointerException("norm is null");
        }
        if (bits != 32 && bits != 4 && bits != 6 && bits != 8) {
            throw new IllegalArgumentException("bits: expected 32, 8, 6 or 4, got " + bits);
        }
        if (gradBits != 0 && (bits == 32 ? gradBits != 32 : gradBits != 4 && gradBits != 6 && gradBits != 8)) {
            throw new IllegalArgumentException("gradBits: expected 0 (same as bits)" + (bits == 32 ? " or 32 with bits=32"
                    : ", 8, 6 or 4") + ", got " + gradBits);
        }
        if (embedBits != 32 && embedBits != 8) {
            throw new IllegalArgumentException("embedBits: expected 32 (FP32) or 8 (ShiftQuant), got " + embedBits);
        }
        if (!(mixAlpha >= 0 && mixAlpha <= 1)) {
            throw new IllegalArgumentException("mixAlpha: expected a value in [0, 1], got " + mixAlpha);
        }
    }

    /** Without a separate gradient width ({@code gradBits = 0}). */
    public GptConfig(int layers, int dim, int heads, int ctx, int vocab, Placement placement, String norm, int bits,
                     boolean embedNorm, double mixAlpha) {
        this(layers, dim, heads, ctx, vocab, placement, norm, bits, 0, 32, embedNorm, mixAlpha);
    }

    /** With an FP32 LM head ({@code embedBits = 32}). */
    public GptConfig(int layers, int dim, int heads, int ctx, int vocab, Placement placement, String norm, int bits,
                     int gradBits, boolean embedNorm, double mixAlpha) {
        this(layers, dim, heads, ctx, vocab, placement, norm, bits, gradBits, 32, embedNorm, mixAlpha);
    }

    /** The width of the backward matmuls ({@code gradBits}, or {@code bits} when 0). */
    public int effectiveGradBits() {
        return gradBits == 0 ? bits : gradBits;
    }

    /** A byte-level FP32 config with the default options (Peri-LN embedding norm on, Mix-LN alpha 0.25). */
    public static GptConfig of(int layers, int dim, int heads, int ctx, Placement placement, String norm) {
        return new GptConfig(layers, dim, heads, ctx, BYTE_VOCAB, placement, norm, 32, true, 0.25);
    }

    /** This config with another bit width (the gradient width follows unless set and still valid). */
    public GptConfig withBits(int b) {
        return new GptConfig(layers, dim, heads, ctx, vocab, placement, norm, b, b == 32 ? 0 : gradBits, embedBits,
                embedNorm, mixAlpha);
    }

    /** This config with another gradient width (0 = same as bits). */
    public GptConfig withGradBits(int g) {
        return new GptConfig(layers, dim, heads, ctx, vocab, placement, norm, bits, g, embedBits, embedNorm, mixAlpha);
    }

    /** This config with another LM-head width (32 or 8). */
    public GptConfig withEmbedBits(int e) {
        return new GptConfig(layers, dim, heads, ctx, vocab, placement, norm, bits, gradBits, e, embedNorm, mixAlpha);
    }

    /** This config with another placement. */
    public GptConfig withPlacement(Placement p) {
        return new GptConfig(layers, dim, heads, ctx, vocab, p, norm, bits, gradBits, embedBits, embedNorm, mixAlpha);
    }

    /** This config with another norm. */
    public GptConfig withNorm(String n) {
        return new GptConfig(layers, dim, heads, ctx, vocab, placement, n, bits, gradBits, embedBits, embedNorm,
                mixAlpha);
    }

    /** Head width C / H. */
    public int headDim() {
        return dim / heads;
    }

    /** Number of leading Post-LN blocks under Mix-LN: floor(alpha L). */
    public int mixPostBlocks() {
        return (int) Math.floor(mixAlpha * layers);
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + v);
        }
    }
}
