package org.nibble.models.bert;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nibble.engine.Scope;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The weight-only ShiftQuant projection: the panel decode against the reference decode, both paths against x · W. */
class ShiftProjectionTest {
    @ParameterizedTest
    @CsvSource({"8, 40, 17", "6, 130, 33", "4, 384, 24", "8, 1, 40", "4, 129, 8"})
    void decodesEqualReferenceAndPathsAgree(int bits, int in, int out) {
        SplittableRandom rng = new SplittableRandom(bits * 1000L + in);
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rng.nextGaussian() * 0.05 * (1 + (i % in) % 5));
        }
        w[in / 2 * out + out / 2] = 30f; // an outlier, kept in FP32
        float[] b = new float[out];
        for (int j = 0; j < out; j++) {
            b[j] = (float) rng.nextGaussian();
        }
        try (Scope scope = Scope.open("t"); Arena a = Arena.ofShared()) {
            ShiftProjection p = new ShiftProjection(scope, w, b, in, out, bits);
            assertTrue(p.outliers() >= 1, "the outlier is kept");
            MemorySegment ref = p.decode(a);
            double err = 0, norm = 0;
            for (int k = 0; k < in; k++) {
                for (int n = 0; n < out; n++) {
                    float f = ref.getAtIndex(BertMath.F, (long) k * out + n);
                    if (k == in / 2 && n == out / 2) {
                        assertEquals(30f, f, "outlier exact");
                    }
                    double d = f - w[k * out + n];
                    err += d * d;
                    norm += (double) w[k * out + n] * w[k * out + n];
                }
            }
            double rel = Math.sqrt(err / norm);
            double bound = bits == 8 ? 0.02 : bits == 6 ? 0.07 : 0.3;
            assertTrue(rel < bound, bits + "-bit relative weight error " + rel);
            // the GEMM-packed decode holds the same values
            PackedWeights pw = new PackedWeights(in, out, null, scope);
            p.decodePacked(pw);
            for (int k = 0; k < in; k++) {
                for (int n = 0; n < out; n++) {
                    assertEquals(ref.getAtIndex(BertMath.F, (long) k * out + n),
                            pw.buffer().getAtIndex(BertMath.F, pw.offset(k, n)), 0f, "packed (" + k + ", " + n + ")");
                }
                // the last GEMM panel's columns past out are zero (the GEMM multiplies them, never stores them)
                for (int n = out; n % org.nibble.kernels.GemmF32.NR != 0; n++) {
                    assertEquals(0f, pw.buffer().getAtIndex(BertMath.F, pw.offset(k, n)), "padding (" + k + ", " + n + ")");
                }
            }
            // one and three rows on the packed codes; one, three and PACKED_ROWS + 1 through the decoded panels
            int many = ShiftProjection.PACKED_ROWS + 1;
            MemorySegment x = a.allocate(4L * many * in, 64);
            for (int e = 0; e < many * in; e++) {
                x.setAtIndex(BertMath.F, e, (float) rng.nextGaussian());
            }
            MemorySegment y1 = a.allocate(4L * out, 64), y3 = a.allocate(4L * 3 * out, 64);
            MemorySegment d1 = a.allocate(4L * out, 64), d3 = a.allocate(4L * 3 * out, 64);
            MemorySegment yMany = a.allocate(4L * many * out, 64);
            p.forwardPacked(x, 1, y1);
            p.forwardPacked(x, 3, y3);
            p.forwardDecoded(x, 1, d1);
            p.forwardDecoded(x, 3, d3);
            p.forward(x, many, yMany);
            // the fused path (decode a GEMM panel, multiply it at once) does the decoded path's operations exactly
            for (int rows : new int[]{1, 2, 3, 7, 13, ShiftProjection.FUSED_ROWS}) {
                MemorySegment xr = a.allocate(4L * rows * in, 64);
                for (int e = 0; e < rows * in; e++) {
                    xr.setAtIndex(BertMath.F, e, (float) rng.nextGaussian());
                }
                MemorySegment fused = a.allocate(4L * rows * out, 64), decoded = a.allocate(4L * rows * out, 64);
                p.forwardFused(xr, rows, fused);
                p.forwardDecoded(xr, rows, decoded);
                for (int e = 0; e < rows * out; e++) {
                    assertEquals(decoded.getAtIndex(BertMath.F, e), fused.getAtIndex(BertMath.F, e), 0f,
                            "fused vs decoded, " + rows + " rows, row " + e / out + ", col " + e % out);
                }
            }
            for (int row : new int[]{0, 2, many - 1}) {
                for (int n = 0; n < out; n++) {
                    double s = b[n], mag = Math.abs(b[n]);
                    for (int k = 0; k < in; k++) {
                        double wk = ref.getAtIndex(BertMath.F, (long) k * out + n);
                        s += x.getAtIndex(BertMath.F, (long) row * in + k) * wk;
                        mag += Math.abs(x.getAtIndex(BertMath.F, (long) row * in + k) * wk);
                    }
                    double tol = 1e-5 * mag + 1e-6;
                    if (row == 0) {
                        assertEquals(s, y1.getAtIndex(BertMath.F, n), tol, "packed, one row, col " + n);
                        assertEquals(s, d1.getAtIndex(BertMath.F, n), tol, "decoded, one row, col " + n);
                    }
                    if (row < 3) {
                        assertEquals(s, y3.getAtIndex(BertMath.F, (long) row * out + n), tol,
                                "packed GEMM row " + row + ", col " + n);
                        assertEquals(s, d3.getAtIndex(BertMath.F, (long) row * out + n), tol,
                                "decoded row " + row + ", col " + n);
                    }
                    assertEquals(s, yMany.getAtIndex(BertMath.F, (long) row * out + n), tol,
                            "decode + GEMM row " + row + ", col " + n);
                }
            }
        }
    }
}
