package org.nibble.models.gpt;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nibble.engine.Scope;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Incremental decoding with the KV cache gives the logits of the full causal forward pass at every position. */
class KvCacheTest {
    @ParameterizedTest
    @EnumSource(Placement.class)
    void cachedDecodingMatchesTheFullForward(Placement p) {
        GptConfig cfg = new GptConfig(2, 16, 4, 12, 256, p, "layernorm", 32, true, 0.5);
        int len = 9;
        int[] tokens = new SplittableRandom(3).ints(len, 0, 256).toArray();
        try (Gpt model = new Gpt(cfg, 5); Scope step = Scope.open("full")) {
            // larger weights than the init so attention is far from uniform
            for (var prm : model.params()) {
                if (prm.value().rank() == 2) {
                    prm.value().fillNormal(new SplittableRandom(prm.name().hashCode()), 0, 0.3);
                }
            }
            model.forward(tokens, null, 1, len, step);
            float[] full = model.logits().toFloatArray();
            try (Gpt.Session s = model.session()) {
                for (int t = 0; t < len; t++) {
                    float[] inc = s.next(tokens[t]);
                    for (int v = 0; v < 256; v++) {
                        float ref = full[t * 256 + v];
                        assertEquals(ref, inc[v], 1e-4f * Math.max(1f, Math.abs(ref)),
                                p + ": position " + t + ", token " + v);
                    }
                }
            }
        }
    }
}
