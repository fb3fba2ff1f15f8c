package org.nibble.models.gpt;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nibble.engine.Scope;
import org.nibble.models.Param;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Whole-model gradient check: the FP32 model's analytic gradients against central finite differences of an
 * independent double-precision forward ({@link GptReference}), for every placement and both norms.
 */
class GptGradientCheckTest {
    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (Placement p : Placement.values()) {
            for (String norm : new String[]{"layernorm", "rmsnorm"}) {
                b.add(Arguments.of(p, norm));
            }
        }
        return b.build();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void gradientsMatchFiniteDifferences(Placement placement, String norm) {
        // 2 blocks; Mix-LN alpha 0.5 so the tiny model has one Post-LN and one Pre-LN block
        GptConfig cfg = new GptConfig(2, 8, 2, 5, 256, placement, norm, 32, true, 0.5);
        int batch = 2, len = 5, n = batch * len;
        SplittableRandom r = new SplittableRandom(42 + placement.ordinal());
        int[] tokens = new int[n], targets = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = r.nextInt(256);
            targets[i] = r.nextInt(256);
        }
        try (Gpt model = new Gpt(cfg, 7)) {
            // larger-than-init random parameters exercise every nonlinearity (softmax, GELU, norms)
            Map<String, double[]> values = new LinkedHashMap<>();
            for (Param p : model.params()) {
                boolean gain = p.name().endsWith("weight") && p.value().rank() == 1;
                boolean bias = p.name().endsWith("bias");
                float[] v = new float[(int) p.size()];
                for (int i = 0; i < v.length; i++) {
                    double g = r.nextGaussian();
                    v[i] = (float) (gain ? 1 + 0.2 * g : bias ? 0.1 * g : 0.4 * g);
                }
                p.value().copyFrom(v);
                double[] d = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    d[i] = v[i];
                }
                values.put(p.name(), d);
            }
            double lossF;
            try (Scope step = Scope.open("step")) {
                model.zeroGrad();
                lossF = model.forward(tokens, targets, batch, len, step);
                model.backward(step);
            }
            GptReference ref = new GptReference(cfg, values);
            double lossD = ref.loss(tokens, targets, batch, len);
            assertEquals(lossD, lossF, 1e-4 * Math.abs(lossD), "float loss vs double reference loss");

            int checked = 0;
            StringBuilder failures = new StringBuilder();
            for (Param p : model.params()) {
                float[] g = p.grad().toFloatArray();
                double[] w = values.get(p.name());
                int samples = Math.min(w.length, 6);
                double[] fd = new double[samples];
                int[] idx = new int[samples];
                double maxFd = 0;
                for (int s = 0; s < samples; s++) {
                    // for wte, sample rows that occur in the batch (others only get head gradients) half the time
                    idx[s] = p.name().equals("wte") && s % 2 == 0
                            ? tokens[r.nextInt(n)] * cfg.dim() + r.nextInt(cfg.dim()) : r.nextInt(w.length);
                    double h = 1e-5, orig = w[idx[s]];
                    w[idx[s]] = orig + h;
                    double lp = ref.loss(tokens, targets, batch, len);
                    w[idx[s]] = orig - h;
                    double lm = ref.loss(tokens, targets, batch, len);
                    w[idx[s]] = orig;
                    fd[s] = (lp - lm) / (2 * h);
                    maxFd = Math.max(maxFd, Math.abs(fd[s]));
                }
                for (int s = 0; s < samples; s++) {
                    double a = g[idx[s]];
                    double tol = 1e-2 * Math.abs(fd[s]) + 2e-3 * maxFd + 1e-6;
                    checked++;
                    if (!(Math.abs(a - fd[s]) <= tol)) {
                        failures.append(String.format("%s[%d]: analytic %.6g vs finite difference %.6g%n",
                                p.name(), idx[s], a, fd[s]));
                    }
                }
            }
            if (!failures.isEmpty()) {
                fail(placement + "/" + norm + " gradient mismatches:\n" + failures);
            }
            assertTrue(checked > 50, "checked " + checked + " gradient entries");
        }
    }
}
