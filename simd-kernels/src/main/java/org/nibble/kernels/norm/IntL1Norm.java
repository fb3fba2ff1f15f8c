package org.nibble.kernels.norm;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.ORDER;

/**
 * The fully-quantized integer L1 LayerNorm of papers.md §1.6, Vector API implementation; twin {@link IntL1NormScalar}
 * (same signatures, bit-identical results).
 *
 * <pre>
 * input   int8 codes q (row i: x ≈ s_i·q), per-row scale s_i
 * forward S = Σq (int32)    c_j = d·q_j − S  (exact centred values × d; non-centred: c_j = d·q_j)
 *         A = Σ|c_j| (int lanes, flushed to int64)     σ1 = s·A/d²    r = 1/(σ1 + ε)   (one reciprocal per row)
 *         out_j = clamp(rint(c_j · f), ±127),  f = s·r/(d·outScale)   (x̂ ≈ out·outScale, fixed scale)
 * saves   S (int32) and r (float) per row
 * backward, with g ≈ sg·gq (int8 codes of the gradient w.r.t. x̂, per-row scale sg) and x̂ ≈ outScale·out:
 *         G = Σgq, P = Σgq·out, Z = Σsgn(c) (int32; signs from the stored codes and S)
 *         dx_j = r·(g_j − G·sg/d − (sg·outScale·P/d)·(sgn(c_j) − Z/d))   = a·gq_j + b·sgn_j + c
 * </pre>
 * The per-row constants come from the shared helpers in {@link IntL1NormScalar}, and the per-element float
 * operations are the same IEEE operations in both implementations, so vector and twin agree bit for bit.
 *
 * <p>Int lanes match {@link Simd#I32} (widened to 256 bits when that has fewer than 8 lanes, so a lane's bytes
 * form a loadable 64-bit vector).
 */
public final class IntL1Norm {
    private IntL1Norm() {
    }

    /** Largest supported width: |c_j| ≤ 256·d stays an int. */
    public static final int MAX_WIDTH = 1 << 22;

    static final VectorSpecies<Integer> IS = Simd.I32.length() >= 8 ? Simd.I32 : IntVector.SPECIES_256;
    static final VectorSpecies<Float> FS = IS.withLanes(float.class);
    static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(IS.length() * 8));
    private static final int L = IS.length();
    /** 1.5·2^23: (v + M) − M rounds |v| < 2^22 to the nearest integer, ties to even (as Math.rint). */
    static final float MAGIC = 12582912f;

    /**
     * Forward over {@code rows x width} int8 codes. {@code inScale} holds one F32 scale per row, {@code rowSum}
     * receives {@code S} (I32) and {@code rstd} receives {@code r} (F32) per row; {@code out} receives int8 codes of
     * x̂ at the fixed scale {@code outScale}.
     */
    public static void forward(int rows, int width, boolean centred, float eps,
                               MemorySegment q, long qOff, int ldq, MemorySegment inScale, long sOff,
                               float outScale, MemorySegment out, long oOff, int ldo,
                               MemorySegment rowSum, long rsOff, MemorySegment rstd, long rOff) {
        IntL1NormScalar.checkForward(rows, width, eps, q, qOff, ldq, inScale, sOff, outScale, out, oOff, ldo, rowSum,
                rsOff, rstd, rOff);
        int block = IntL1NormScalar.absBlock(width, L);
        Parallel.forRange(0, rows, ChunkedGrads.grain(width), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                forwardRow(r, width, centred, eps, q, qOff + (long) r * ldq, inScale, sOff, outScale,
                        out, oOff + (long) r * ldo, rowSum, rsOff, rstd, rOff, block);
            }
        });
    }

    /**
     * Backward: {@code dx} (F32, real units of x) from the int8 gradient codes {@code gq} (per-row F32 scale
     * {@code gScale}) of the gradient with respect to x̂, using the forward's codes, {@code rowSum} and {@code rstd}.
     */
    public static void backward(int rows, int width, boolean centred,
                                MemorySegment q, long qOff, int ldq, MemorySegment rowSum, long rsOff,
                                MemorySegment rstd, long rOff, MemorySegment out, long oOff, int ldo, float outScale,
                                MemorySegment gq, long gqOff, int ldg, MemorySegment gScale, long gsOff,
                                MemorySegment dx, long dxOff, int lddx) {
        IntL1NormScalar.checkBackward(rows, width, q, qOff, ldq, rowSum, rsOff, rstd, rOff, out, oOff, ldo,
                outScale, gq, gqOff, ldg, gScale, gsOff, dx, dxOff, lddx);
        Parallel.forRange(0, rows, ChunkedGrads.grain(width), (lo, hi) -> {
            long[] acc = new long[3];
            for (int r = lo; r < hi; r++) {
                backwardRow(r, width, centred, q, qOff + (long) r * ldq, rowSum, rsOff, rstd, rOff,
                        out, oOff + (long) r * ldo, outScale, gq, gqOff + (long) r * ldg, gScale, gsOff,
                        dx, (dxOff + (long) r * lddx) * 4, acc);
            }
        });
    }

    private static void forwardRow(int row, int n, boolean centred, float eps, MemorySegment q, long qb,
                                   MemorySegment inScale, long sOff, float outScale, MemorySegment out, long ob,
                                   MemorySegment rowSum, long rsOff, MemorySegment rstd, long rOff, int block) {
        int s = centred ? sumCodes(n, q, qb) : 0;
        long a = sumAbsCentred(n, q, qb, s, block);
        float scale = inScale.getAtIndex(Simd.FLOAT, sOff + row);
        IntL1NormScalar.checkScale(row, scale);
        double r = IntL1NormScalar.reciprocal(n, a, scale, eps);
        float f = IntL1NormScalar.outFactor(n, r, scale, outScale);
        rowSum.setAtIndex(Simd.INT, rsOff + row, s);
        rstd.setAtIndex(Simd.FLOAT, rOff + row, (float) r);
        requantize(n, q, qb, s, f, out, ob);
    }

    static int sumCodes(int n, MemorySegment q, long qb) {
        IntVector acc = IntVector.zero(IS);
        int upper = IS.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            acc = acc.add(codes(q, qb + i));
        }
        int s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += q.get(Simd.BYTE, qb + i);
        }
        return s;
    }

    /** Σ|d·q − S| in int lanes, flushed to long every {@code block} elements. */
    static long sumAbsCentred(int n, MemorySegment q, long qb, int s, int block) {
        IntVector vs = IntVector.broadcast(IS, s);
        long total = 0;
        int upper = IS.loopBound(n);
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + block);
            IntVector acc = IntVector.zero(IS);
            for (; i < end; i += L) {
                acc = acc.add(codes(q, qb + i).mul(n).sub(vs).abs());
            }
            total += acc.reduceLanesToLong(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            total += Math.abs((long) n * q.get(Simd.BYTE, qb + i) - s);
        }
        return total;
    }

    private static void requantize(int n, MemorySegment q, long qb, int s, float f, MemorySegment out, long ob) {
        IntVector vs = IntVector.broadcast(IS, s);
        int upper = IS.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector v = (FloatVector) codes(q, qb + i).mul(n).sub(vs).convert(VectorOperators.I2F, 0);
            v = v.mul(f).max(-127f).min(127f).add(MAGIC).sub(MAGIC);
            v.convert(VectorOperators.F2I, 0).convertShape(VectorOperators.I2B, BS, 0)
                    .reinterpretAsBytes().intoMemorySegment(out, ob + i, ORDER);
        }
        for (; i < n; i++) {
            out.set(Simd.BYTE, ob + i, IntL1NormScalar.code(n * q.get(Simd.BYTE, qb + i) - s, f));
        }
    }

    private static void backwardRow(int row, int n, boolean centred, MemorySegment q, long qb,
                                    MemorySegment rowSum, long rsOff, MemorySegment rstd, long rOff,
                                    MemorySegment out, long ob, float outScale, MemorySegment gq, long gb,
                                    MemorySegment gScale, long gsOff, MemorySegment dx, long dxb, long[] acc) {
        int s = rowSum.getAtIndex(Simd.INT, rsOff + row);
        float r = rstd.getAtIndex(Simd.FLOAT, rOff + row);
        float sg = gScale.getAtIndex(Simd.FLOAT, gsOff + row);
        IntL1NormScalar.checkGradScale(row, sg);
        backwardSums(n, q, qb, s, out, ob, gq, gb, acc);
        float a = IntL1NormScalar.dxA(r, sg);
        float b = IntL1NormScalar.dxB(n, r, sg, outScale, acc[1]);
        float c = IntL1NormScalar.dxC(n, centred, r, sg, outScale, acc[0], acc[1], acc[2]);
        dxPass(n, q, qb, s, gq, gb, a, b, c, dx, dxb);
    }

    /** acc = {G = Σgq, P = Σgq·out, Z = Σsgn(d·q − S)}. */
    static void backwardSums(int n, MemorySegment q, long qb, int s, MemorySegment out, long ob,
                             MemorySegment gq, long gb, long[] acc) {
        IntVector vs = IntVector.broadcast(IS, s);
        long tg = 0, tp = 0, tz = 0;
        int upper = IS.loopBound(n);
        int block = L << 16; // |gq·out| <= 2^14 per element: 2^16 elements per lane stay below 2^31
        int i = 0;
        while (i < upper) {
            int end = Math.min(upper, i + block);
            IntVector ag = IntVector.zero(IS), ap = ag, az = ag;
            for (; i < end; i += L) {
                IntVector g = codes(gq, gb + i);
                ag = ag.add(g);
                ap = ap.add(g.mul(codes(out, ob + i)));
                az = az.add(sign(codes(q, qb + i).mul(n).sub(vs)));
            }
            tg += ag.reduceLanesToLong(VectorOperators.ADD);
            tp += ap.reduceLanesToLong(VectorOperators.ADD);
            tz += az.reduceLanesToLong(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            int g = gq.get(Simd.BYTE, gb + i);
            tg += g;
            tp += g * out.get(Simd.BYTE, ob + i);
            tz += Integer.signum(n * q.get(Simd.BYTE, qb + i) - s);
        }
        acc[0] = tg;
        acc[1] = tp;
        acc[2] = tz;
    }

    /** dx = a·gq + (b·sgn + c). */
    private static void dxPass(int n, MemorySegment q, long qb, int s, MemorySegment gq, long gb, float a, float b,
                               float c, MemorySegment dx, long dxb) {
        IntVector vs = IntVector.broadcast(IS, s);
        FloatVector va = FloatVector.broadcast(FS, a), vb = FloatVector.broadcast(FS, b);
        FloatVector vc = FloatVector.broadcast(FS, c);
        int upper = IS.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector g = (FloatVector) codes(gq, gb + i).convert(VectorOperators.I2F, 0);
            FloatVector t = (FloatVector) sign(codes(q, qb + i).mul(n).sub(vs)).convert(VectorOperators.I2F, 0);
            g.fma(va, t.fma(vb, vc)).intoMemorySegment(dx, dxb + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            float g = gq.get(Simd.BYTE, gb + i);
            float t = Integer.signum(n * q.get(Simd.BYTE, qb + i) - s);
            dx.set(Simd.FLOAT, dxb + 4L * i, Math.fma(g, a, Math.fma(t, b, c)));
        }
    }

    /** int8 codes at byte offset {@code b}, sign-extended to int lanes. */
    private static IntVector codes(MemorySegment seg, long b) {
        return (IntVector) ByteVector.fromMemorySegment(BS, seg, b, ORDER).castShape(IS, 0);
    }

    /** sgn(c) = (c >> 31) | (-c >>> 31): 1, 0 or -1 (c is never Integer.MIN_VALUE here). */
    private static IntVector sign(IntVector c) {
        return c.lanewise(VectorOperators.ASHR, 31).or(c.neg().lanewise(VectorOperators.LSHR, 31));
    }

}
