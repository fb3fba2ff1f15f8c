package org.nibble.models.bert;

import org.junit.jupiter.api.Test;
import org.nibble.engine.Scope;
import org.nibble.engine.onnx.OnnxReader;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

class ShiftProbeTest {
    @Test
    void probe() throws Exception {
        var model = OnnxReader.read(MiniLm.class.getResourceAsStream(MiniLm.ONNX_RESOURCE));
        var spec = BertGraph.map(model);
        try (Scope scope = Scope.open("p"); Arena a = Arena.ofShared()) {
            for (int bits : new int[]{8, 6, 4}) {
                var l = spec.layers().get(0);
                for (var ref : List.of(l.q(), l.k(), l.v(), l.o(), l.ffnIn(), l.ffnOut())) {
                    float[][] f = Projections.fusedArrays(List.of(ref));
                    double rms0 = 0;
                    for (float v : f[0]) rms0 += v * (double) v;
                    rms0 = Math.sqrt(rms0 / f[0].length);
                    int outl = 0; double thr = Double.parseDouble("8");
                    for (float v : f[0]) if (Math.abs(v) > thr * rms0) outl++;
                    System.out.printf("  outliers > %.0f rms: %d of %d%n", thr, outl, f[0].length);
                    ShiftProjection p = new ShiftProjection(scope, f[0], f[1], (int) f[2][0], (int) f[2][1], bits);
                    MemorySegment w = p.decode(a);
                    double num = 0, den = 0, maxAbs = 0;
                    for (int e = 0; e < f[0].length; e++) {
                        double d = f[0][e] - w.getAtIndex(BertMath.F, e);
                        num += d * d;
                        den += f[0][e] * (double) f[0][e];
                        maxAbs = Math.max(maxAbs, Math.abs(f[0][e]));
                    }
                    System.out.printf("bits %d %s: rel err %.5f maxAbs %.3f rms %.4f%n", bits, ref.bias().name(),
                            Math.sqrt(num / den), maxAbs, Math.sqrt(den / f[0].length));
                }
            }
        }
    }
}
