package org.nibble.models.gpt;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Layer;
import org.nibble.models.Param;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/** The block MLP: {@code Linear(C, 4C) -> GELU (tanh) -> Linear(4C, C)}. */
public final class Mlp implements Layer {
    private final Linear fc, proj;
    private Tensor pre;

    Mlp(String prefix, int dim, double std, double projStd, RandomGenerator rng, Scope params, LinearMath math,
        RoundingClock clock) {
        this.fc = new Linear(prefix + ".fc", dim, 4 * dim, true, std, rng, params, math, clock);
        this.proj = new Linear(prefix + ".proj", 4 * dim, dim, true, projStd, rng, params, math, clock);
    }

    @Override
    public Tensor forward(Tensor x, Scope step) {
        pre = fc.forward(x, step);
        Tensor act = step.zeros(DType.F32, pre.shape());
        Ops.gelu((int) pre.numel(), pre.segment(), 0, act.segment(), 0);
        return proj.forward(act, step);
    }

    @Override
    public Tensor backward(Tensor dy, Scope step) {
        Tensor dact = proj.backward(dy, step);
        Ops.geluBackward((int) pre.numel(), pre.segment(), 0, dact.segment(), 0, dact.segment(), 0);
        return fc.backward(dact, step);
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(fc.params());
        ps.addAll(proj.params());
        return ps;
    }
}
