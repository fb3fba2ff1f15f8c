package org.nibble.models.train;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Param;
import org.nibble.models.gpt.Ops;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW on FP32 master weights: per-parameter first and second moments in the optimizer's own scope. Weight decay
 * applies to parameters of rank >= 2 (matrices and embeddings), never to norm gains or biases.
 */
public final class AdamW implements AutoCloseable {
    private final Scope scope = Scope.open("adamw");
    private final Map<Param, Tensor[]> state = new LinkedHashMap<>();
    private final TrainConfig cfg;

    public AdamW(List<Param> params, TrainConfig cfg) {
        this.cfg = cfg;
        for (Param p : params) {
            state.put(p, new Tensor[]{scope.zeros(DType.F32, p.value().shape()),
                    scope.zeros(DType.F32, p.value().shape())});
        }
    }

    /** First moment of {@code p}. */
    public Tensor m(Param p) {
        return state.get(p)[0];
    }

    /** Second moment of {@code p}. */
    public Tensor v(Param p) {
        return state.get(p)[1];
    }

    /** One update with learning rate {@code lr}, gradients scaled by {@code gradScale}, 1-based step {@code t}. */
    public void step(double lr, float gradScale, long t) {
        for (var e : state.entrySet()) {
            Param p = e.getKey();
            Tensor[] mv = e.getValue();
            float wd = p.value().rank() >= 2 ? (float) cfg.weightDecay() : 0f;
            Ops.adamw((int) p.size(), p.value().segment(), p.grad().segment(), mv[0].segment(), mv[1].segment(),
                    gradScale, (float) lr, (float) cfg.beta1(), (float) cfg.beta2(), (float) cfg.eps(), wd, t);
        }
    }

    @Override
    public void close() {
        scope.close();
    }
}
