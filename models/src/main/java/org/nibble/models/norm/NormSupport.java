package org.nibble.models.norm;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.FloatOps;
import org.nibble.models.Param;

import java.util.Arrays;

/** Shape checks and small tensor helpers shared by the norm layers. */
final class NormSupport {
    private NormSupport() {
    }

    /** Checks {@code x} is F32 with last dimension {@code dim}; returns it contiguous (copied into step if needed). */
    static Tensor rows(String kind, String arg, Tensor x, int dim, Scope step) {
        if (x == null) {
            throw new NullPointerException(kind + ": " + arg + " is null");
        }
        if (x.dtype() != DType.F32) {
            throw new IllegalArgumentException(kind + ": " + arg + " dtype expected F32, got " + x.dtype());
        }
        if (x.rank() < 1 || x.dim(-1) != dim) {
            throw new IllegalArgumentException(kind + ": " + arg + " last dimension expected " + dim + ", got "
                    + (x.rank() < 1 ? "a scalar" : x.dim(-1)) + " (shape " + Arrays.toString(x.shape()) + ")");
        }
        if (x.numel() / dim > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(kind + ": " + arg + " has too many rows: " + x.numel() / dim);
        }
        return x.isContiguous() ? x : x.copy(step);
    }

    /** Checks that {@code dy} has the shape of the saved input. */
    static Tensor grad(String kind, Tensor dy, Tensor saved, int dim, Scope step) {
        if (saved == null) {
            throw new IllegalStateException(kind + ": backward called without a preceding forward");
        }
        Tensor d = rows(kind, "dy", dy, dim, step);
        if (!Arrays.equals(d.shape(), saved.shape())) {
            throw new IllegalArgumentException(kind + ": dy shape expected " + Arrays.toString(saved.shape())
                    + " (the forward input), got " + Arrays.toString(d.shape()));
        }
        return d;
    }

    static int rowCount(Tensor x, int dim) {
        return (int) (x.numel() / dim);
    }

    /** A new parameter of {@code shape} filled with {@code value}. */
    static Param param(NormOptions o, String kind, String name, float value, int... shape) {
        String prefix = o.prefix() == null ? kind : o.prefix();
        Param p = new Param(prefix + "." + name, o.params(), shape);
        if (value != 0) {
            p.value().fill(value);
        }
        return p;
    }

    /** t *= s in place (contiguous F32). */
    static void scaleInPlace(Tensor t, float s) {
        if (s != 1f) {
            FloatOps.scale((int) t.numel(), s, t.segment(), t.offset(), t.segment(), t.offset());
        }
    }

    /** s·dy as a new step tensor (or dy itself for s == 1). */
    static Tensor scaled(Tensor dy, float s, Scope step) {
        if (s == 1f) {
            return dy;
        }
        Tensor out = step.zeros(DType.F32, dy.shape());
        FloatOps.scale((int) dy.numel(), s, dy.segment(), dy.offset(), out.segment(), 0);
        return out;
    }

    /** One boolean per row from a padding mask (non-zero = pad), checking its element count. */
    static boolean[] padRows(String kind, Tensor padMask, int rows) {
        boolean[] pad = new boolean[rows];
        if (padMask == null) {
            return pad;
        }
        if (padMask.numel() != rows) {
            throw new IllegalArgumentException(kind + ": padMask expected " + rows + " elements (one per row), got "
                    + padMask.numel() + " (shape " + Arrays.toString(padMask.shape()) + ")");
        }
        float[] m = padMask.toFloatArray();
        for (int i = 0; i < rows; i++) {
            pad[i] = m[i] != 0;
        }
        return pad;
    }
}
