package org.nibble.kernels.quant;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;

/** Scalar twin of {@link QuantPanels}: decodes every code with {@link QuantPanels#code} and sums in double. */
public final class QuantPanelsScalar {
    private QuantPanelsScalar() {
    }

    /** See {@link QuantPanels#gemm}. */
    public static void gemm(PackedFormat format, int m, int n, int k, MemorySegment panels, long pOff,
                            MemorySegment groupIds, long gOff, MemorySegment scale, long sOff, MemorySegment bias,
                            long bOff, MemorySegment x, long xOff, int ldx, MemorySegment y, long yOff, int ldy) {
        QuantPanels.check(format, m, n, k, panels, pOff, groupIds, gOff, scale, sOff, bias, bOff, x, xOff, ldx, y,
                yOff, ldy);
        for (int r = 0; r < n; r++) {
            long g = gOff + (long) (r / QuantPanels.BLOCK_ROWS) * k;
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int kk = 0; kk < k; kk++) {
                    double w = Math.scalb((double) QuantPanels.code(format, k, panels, pOff, r, kk),
                            -groupIds.get(BYTE, g + kk));
                    acc += w * x.getAtIndex(FLOAT, xOff + (long) i * ldx + kk);
                }
                float v = (float) acc * scale.getAtIndex(FLOAT, sOff + r);
                y.setAtIndex(FLOAT, yOff + (long) i * ldy + r, bias != null ? v + bias.getAtIndex(FLOAT, bOff + r) : v);
            }
        }
    }

    /** See {@link QuantPanels#decode}. */
    public static void decode(PackedFormat format, int n, int k, MemorySegment panels, long pOff,
                              MemorySegment groupIds, long gOff, MemorySegment scale, long sOff, int panel, float[] dst,
                              int dOff) {
        decode(format, n, k, panels, pOff, groupIds, gOff, scale, sOff, panel, dst, dOff, QuantPanels.PANEL_ROWS);
    }

    public static void decode(PackedFormat format, int n, int k, MemorySegment panels, long pOff,
                              MemorySegment groupIds, long gOff, MemorySegment scale, long sOff, int panel, float[] dst,
                              int dOff, int ldd) {
        QuantPanels.checkDecode(format, n, k, panels, pOff, groupIds, gOff, scale, sOff, panel, dst, dOff, ldd);
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < QuantPanels.PANEL_ROWS; j++) {
                int r = panel * QuantPanels.PANEL_ROWS + j;
                float v = 0f;
                if (r < n) {
                    float w = Math.scalb((float) QuantPanels.code(format, k, panels, pOff, r, p),
                            -groupIds.get(BYTE, gOff + (long) (r / QuantPanels.BLOCK_ROWS) * k + p));
                    v = w * scale.getAtIndex(FLOAT, sOff + r);
                }
                dst[dOff + p * ldd + j] = v;
            }
        }
    }
}
