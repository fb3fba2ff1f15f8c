package org.nibble.models.bert;

import org.nibble.engine.onnx.OnnxDataType;
import org.nibble.engine.onnx.OnnxFormatException;
import org.nibble.engine.onnx.OnnxGraph;
import org.nibble.engine.onnx.OnnxModel;
import org.nibble.engine.onnx.OnnxNode;
import org.nibble.engine.onnx.OnnxTensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the tensors of a BERT encoder in an ONNX graph by following the graph, not by tensor names: the exporters
 * give the projection weights anonymous names ({@code onnx::MatMul_787}), so a projection is recognised as a
 * {@code MatMul} by a 2-D initializer (or the {@code DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul} chain
 * of an ONNX Runtime int8 model) followed by an {@code Add} of a 1-D bias; a LayerNorm as the decomposed
 * {@code ReduceMean/Sub/Pow/ReduceMean/Add(eps)/Sqrt/Div/Mul(gamma)/Add(beta)} chain. The roles within a layer come
 * from the attention: the projection behind the first operand of the score {@code MatMul} is the query, behind the
 * second the key, behind the second operand of the context {@code MatMul} the value; the output projection reads the
 * context; the residual {@code Add}s lead to the two LayerNorms, and the feed-forward pair sits on both sides of the
 * {@code Erf} GELU.
 */
final class BertGraph {
    /** Every op of the FP32 and int8 MiniLM exports; anything else is rejected by name. */
    static final Set<String> SUPPORTED_OPS = Set.of("Add", "Cast", "Concat", "Constant", "Div", "Erf", "Gather",
            "MatMul", "Mul", "Pow", "ReduceMean", "Reshape", "Shape", "Slice", "Softmax", "Sqrt", "Sub", "Transpose",
            "Unsqueeze", "MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear");

    /** A projection {@code y = x W + b}; {@code weight} is [in, out] FP32, or int8 with per-column scale. */
    record LinearRef(String input, String output, OnnxTensor weight, OnnxTensor qweight, OnnxTensor qscale,
                     OnnxTensor qzero, OnnxTensor bias) {
        int in() {
            return (int) (weight != null ? weight : qweight).dims()[0];
        }

        int out() {
            return (int) (weight != null ? weight : qweight).dims()[1];
        }
    }

    /** A LayerNorm over the last axis. */
    record NormRef(String input, String output, OnnxTensor gamma, OnnxTensor beta, float eps) {
    }

    /** An embedding table, FP32 or uint8 with a per-tensor scale and zero point. */
    record TableRef(OnnxTensor table, OnnxTensor scale, OnnxTensor zero) {
    }

    /** One encoder layer. */
    record LayerRef(LinearRef q, LinearRef k, LinearRef v, LinearRef o, NormRef ln1, LinearRef ffnIn,
                    LinearRef ffnOut, NormRef ln2) {
    }

    /** Everything the encoder needs. */
    record Spec(BertConfig config, TableRef word, TableRef position, TableRef type, NormRef embLn,
                List<LayerRef> layers) {
    }

    private final OnnxGraph g;
    private final Map<String, OnnxNode> producer = new HashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();
    private final Map<String, OnnxTensor> constants = new HashMap<>();

    private BertGraph(OnnxGraph g) throws OnnxFormatException {
        this.g = g;
        for (OnnxNode n : g.nodes()) {
            if (!SUPPORTED_OPS.contains(n.opType()) || !n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
                throw new OnnxFormatException("unsupported op '" + n.opType() + "'"
                        + (n.domain().isEmpty() ? "" : " (domain " + n.domain() + ")") + " in node '" + n.name()
                        + "': nibble's BERT loader handles " + new java.util.TreeSet<>(SUPPORTED_OPS));
            }
            for (String o : n.outputs()) {
                producer.put(o, n);
            }
            for (String i : n.inputs()) {
                consumers.computeIfAbsent(i, x -> new ArrayList<>()).add(n);
            }
            if (n.opType().equals("Constant") && n.attribute("value") != null && n.attribute("value").t() != null) {
                constants.put(n.outputs().getFirst(), n.attribute("value").t());
            }
        }
        constants.putAll(g.initializers());
    }

    /** Maps an ONNX BERT model. */
    static Spec map(OnnxModel model) throws OnnxFormatException {
        return new BertGraph(model.graph()).spec();
    }

    private OnnxNode prod(String v) {
        return producer.get(v);
    }

    private List<OnnxNode> cons(String v) {
        return consumers.getOrDefault(v, List.of());
    }

    private OnnxTensor init(String v) {
        return g.initializers().get(v);
    }

    private boolean isOp(OnnxNode n, String op) {
        return n != null && n.opType().equals(op);
    }

    private static OnnxFormatException fail(String what) {
        return new OnnxFormatException("not a BERT encoder graph nibble understands: " + what);
    }

    private Spec spec() throws OnnxFormatException {
        Map<String, LinearRef> linearByOut = new HashMap<>();
        Map<String, List<LinearRef>> linearsByIn = new HashMap<>();
        Map<String, NormRef> normByIn = new HashMap<>();
        Map<String, NormRef> normByOut = new HashMap<>();
        for (OnnxNode n : g.nodes()) {
            if (!isOp(n, "Add") || n.inputs().size() != 2) {
                continue;
            }
            LinearRef lin = linear(n);
            if (lin != null) {
                linearByOut.put(lin.output(), lin);
                linearsByIn.computeIfAbsent(lin.input(), x -> new ArrayList<>()).add(lin);
            }
            NormRef ln = norm(n);
            if (ln != null) {
                normByIn.put(ln.input(), ln);
                normByOut.put(ln.output(), ln);
            }
        }
        // Embeddings.
        TableRef word = null, pos = null, type = null;
        String wordOut = null;
        for (OnnxNode n : g.nodes()) {
            if (!isOp(n, "Gather") || init(n.inputs().get(0)) == null) {
                continue;
            }
            OnnxTensor t = init(n.inputs().get(0));
            if (t.dims().length != 2) {
                continue;
            }
            TableRef ref;
            if (t.dataType() == OnnxDataType.FLOAT) {
                ref = new TableRef(t, null, null);
            } else {
                OnnxNode dq = cons(n.outputs().getFirst()).stream().filter(c -> isOp(c, "DequantizeLinear"))
                        .findFirst().orElseThrow(() -> fail("quantized embedding table '" + t.name()
                                + "' without DequantizeLinear"));
                ref = new TableRef(t, constant(dq.inputs().get(1)), constant(dq.inputs().get(2)));
            }
            String idx = n.inputs().get(1);
            if (idx.equals("input_ids")) {
                word = ref;
                wordOut = n.outputs().getFirst();
            } else if (idx.equals("token_type_ids")) {
                type = ref;
            } else {
                pos = ref;
            }
        }
        if (word == null || pos == null) {
            throw fail("no word or position embedding Gather (indices 'input_ids' and positions)");
        }
        // Attention blocks in file order.
        List<LayerRef> layers = new ArrayList<>();
        String layerIn = null;
        NormRef embLn = null;
        int heads = -1;
        for (OnnxNode s : g.nodes()) {
            if (!isOp(s, "MatMul") || init(s.inputs().get(1)) != null) {
                continue;
            }
            if (cons(s.outputs().getFirst()).stream().noneMatch(c -> isOp(c, "Div"))) {
                continue; // a context MatMul: handled from its score MatMul
            }
            String where = "attention MatMul '" + s.name() + "'";
            OnnxNode div = cons(s.outputs().getFirst()).stream().filter(c -> isOp(c, "Div")).findFirst().get();
            OnnxTensor scaleT = constant(div.inputs().get(1));
            double c = scaleT.scalarFloat();
            int headDim = (int) Math.round(c * c);
            OnnxNode softmax = downstream(div.outputs().getFirst(), "Softmax", Set.of("Add", "Mul"), where);
            OnnxNode ctx = cons(softmax.outputs().getFirst()).stream().filter(x -> isOp(x, "MatMul")).findFirst()
                    .orElseThrow(() -> fail(where + ": Softmax without a context MatMul"));
            LinearRef q = back(s.inputs().get(0), linearByOut, where + " query");
            LinearRef k = back(s.inputs().get(1), linearByOut, where + " key");
            LinearRef v = back(ctx.inputs().get(1), linearByOut, where + " value");
            if (!q.input().equals(k.input()) || !q.input().equals(v.input())) {
                throw fail(where + ": query, key and value read different inputs");
            }
            // The output projection reads the context through Transpose/Reshape.
            String cv = ctx.outputs().getFirst();
            LinearRef o = null;
            for (int hop = 0; hop < 8 && o == null; hop++) {
                List<LinearRef> l = linearsByIn.get(cv);
                if (l != null && l.size() == 1) {
                    o = l.getFirst();
                    break;
                }
                String next = null;
                for (OnnxNode n : cons(cv)) {
                    if (isOp(n, "Transpose") || isOp(n, "Reshape")) {
                        next = n.outputs().getFirst();
                    }
                }
                if (next == null) {
                    break;
                }
                cv = next;
            }
            if (o == null) {
                throw fail(where + ": no output projection reads the attention context");
            }
            NormRef ln1 = residualNorm(o, q.input(), normByIn, where + " attention output");
            List<LinearRef> fi = linearsByIn.getOrDefault(ln1.output(), List.of());
            if (fi.size() != 1) {
                throw fail(where + ": expected one feed-forward projection after the attention LayerNorm, found "
                        + fi.size());
            }
            LinearRef ffnIn = fi.getFirst();
            LinearRef ffnOut = null;
            NormRef ln2 = null;
            for (OnnxNode add : cons(ln1.output())) {
                if (isOp(add, "Add")) {
                    String other = add.inputs().get(0).equals(ln1.output()) ? add.inputs().get(1)
                            : add.inputs().get(0);
                    if (linearByOut.containsKey(other) && normByIn.containsKey(add.outputs().getFirst())) {
                        ffnOut = linearByOut.get(other);
                        ln2 = normByIn.get(add.outputs().getFirst());
                    }
                }
            }
            if (ffnOut == null) {
                throw fail(where + ": no feed-forward output projection with residual LayerNorm");
            }
            checkGelu(ffnIn.output(), ffnOut.input(), where);
            if (layers.isEmpty()) {
                embLn = normByOut.get(q.input());
                if (embLn == null) {
                    throw fail(where + ": the first layer does not read the embedding LayerNorm");
                }
            } else if (!q.input().equals(layerIn)) {
                throw fail(where + ": layer " + layers.size() + " does not read the previous layer's output");
            }
            int hidden = q.in();
            if (headDim <= 0 || hidden % headDim != 0) {
                throw fail(where + ": attention scale " + c + " gives head size " + headDim
                        + ", which does not divide hidden size " + hidden);
            }
            if (heads >= 0 && heads != hidden / headDim) {
                throw fail(where + ": head count changes between layers");
            }
            heads = hidden / headDim;
            layers.add(new LayerRef(q, k, v, o, ln1, ffnIn, ffnOut, ln2));
            layerIn = ln2.output();
        }
        if (layers.isEmpty()) {
            throw fail("no attention layers (score MatMul -> Div -> Softmax -> MatMul)");
        }
        if (g.outputs().isEmpty() || !g.outputs().getFirst().name().equals(layerIn)) {
            throw fail("the graph output is not the last layer's LayerNorm output");
        }
        if (wordOut == null) {
            throw fail("no word embedding");
        }
        long[] pd = word.table().dims();
        OnnxTensor posIds = init("embeddings.position_ids");
        if (posIds != null) {
            long[] p = posIds.longs();
            for (int i = 0; i < p.length; i++) {
                if (p[i] != i) {
                    throw fail("position_ids are not 0, 1, 2, ...");
                }
            }
        }
        LayerRef l0 = layers.getFirst();
        BertConfig cfg = new BertConfig(layers.size(), l0.q().in(), heads, l0.ffnIn().out(), (int) pd[0],
                (int) pos.table().dims()[0], embLn.eps());
        return new Spec(cfg, word, pos, type, embLn, List.copyOf(layers));
    }

    private OnnxTensor constant(String v) throws OnnxFormatException {
        OnnxTensor t = constants.get(v);
        if (t == null) {
            throw fail("value '" + v + "' is not a constant");
        }
        return t;
    }

    /** The first node of type {@code op} downstream of {@code v}, passing only through {@code via}. */
    private OnnxNode downstream(String v, String op, Set<String> via, String where) throws OnnxFormatException {
        for (int hop = 0; hop < 8; hop++) {
            String next = null;
            for (OnnxNode n : cons(v)) {
                if (isOp(n, op)) {
                    return n;
                }
                if (via.contains(n.opType())) {
                    next = n.outputs().getFirst();
                }
            }
            if (next == null) {
                break;
            }
            v = next;
        }
        throw fail(where + ": no " + op + " after the scores");
    }

    /** The projection that produced {@code v}, looking back through Reshape and Transpose. */
    private LinearRef back(String v, Map<String, LinearRef> byOut, String where) throws OnnxFormatException {
        for (int hop = 0; hop < 8; hop++) {
            LinearRef l = byOut.get(v);
            if (l != null) {
                return l;
            }
            OnnxNode p = prod(v);
            if (!isOp(p, "Reshape") && !isOp(p, "Transpose")) {
                break;
            }
            v = p.inputs().getFirst();
        }
        throw fail(where + ": no projection (MatMul + bias Add) behind '" + v + "'");
    }

    private NormRef residualNorm(LinearRef o, String residual, Map<String, NormRef> normByIn, String where)
            throws OnnxFormatException {
        for (OnnxNode add : cons(o.output())) {
            if (isOp(add, "Add") && add.inputs().contains(residual) && normByIn.containsKey(add.outputs().getFirst())) {
                return normByIn.get(add.outputs().getFirst());
            }
        }
        throw fail(where + ": no residual Add + LayerNorm after '" + o.output() + "'");
    }

    /** Checks that {@code to} is the exact (erf) GELU of {@code from}: Mul/Add/Div/Erf only, with one Erf. */
    private void checkGelu(String from, String to, String where) throws OnnxFormatException {
        Deque<String> work = new ArrayDeque<>();
        Set<String> seen = new HashSet<>();
        work.add(to);
        boolean reached = false, erf = false;
        while (!work.isEmpty()) {
            String v = work.poll();
            if (!seen.add(v) || constants.containsKey(v)) {
                continue;
            }
            if (v.equals(from)) {
                reached = true;
                continue;
            }
            OnnxNode p = prod(v);
            if (p == null || seen.size() > 32) {
                throw fail(where + ": the feed-forward activation is not the erf GELU (reached '" + v + "')");
            }
            switch (p.opType()) {
                case "Erf" -> erf = true;
                case "Mul", "Add", "Div" -> {
                }
                default -> throw fail(where + ": unsupported activation op '" + p.opType() + "' in node '"
                        + p.name() + "' (only the exact erf GELU is supported)");
            }
            work.addAll(p.inputs());
        }
        if (!reached || !erf) {
            throw fail(where + ": the feed-forward activation is not the erf GELU");
        }
    }

    /** A projection ending at this Add, or {@code null}. */
    private LinearRef linear(OnnxNode add) throws OnnxFormatException {
        for (int side = 0; side < 2; side++) {
            OnnxTensor bias = init(add.inputs().get(side));
            String mm = add.inputs().get(1 - side);
            if (bias == null || bias.dims().length != 1 || bias.dataType() != OnnxDataType.FLOAT) {
                continue;
            }
            OnnxNode p = prod(mm);
            if (isOp(p, "MatMul") && init(p.inputs().get(1)) != null) {
                OnnxTensor w = init(p.inputs().get(1));
                checkProjection(w, bias, OnnxDataType.FLOAT);
                return new LinearRef(p.inputs().get(0), add.outputs().getFirst(), w, null, null, null, bias);
            }
            if (isOp(p, "Mul")) {
                // ORT dynamic quantization: Mul(Cast(MatMulInteger(xq, Wq, xzp, Wzp)), Mul(xscale, Wscale))
                OnnxNode cast = null, scales = null;
                for (String in : p.inputs()) {
                    OnnxNode q = prod(in);
                    if (isOp(q, "Cast")) {
                        cast = q;
                    } else if (isOp(q, "Mul")) {
                        scales = q;
                    }
                }
                if (cast == null || scales == null || !isOp(prod(cast.inputs().getFirst()), "MatMulInteger")) {
                    continue;
                }
                OnnxNode mmi = prod(cast.inputs().getFirst());
                OnnxNode dql = prod(mmi.inputs().get(0));
                OnnxTensor wq = init(mmi.inputs().get(1));
                if (!isOp(dql, "DynamicQuantizeLinear") || wq == null) {
                    throw fail("MatMulInteger '" + mmi.name() + "' does not read a DynamicQuantizeLinear "
                            + "activation and an int8 initializer");
                }
                OnnxTensor wscale = null;
                for (String in : scales.inputs()) {
                    if (init(in) != null) {
                        wscale = init(in);
                    }
                }
                OnnxTensor wzero = mmi.inputs().size() > 3 ? init(mmi.inputs().get(3)) : null;
                checkProjection(wq, bias, OnnxDataType.INT8);
                if (wscale == null || wscale.elementCount() != bias.elementCount() && wscale.elementCount() != 1) {
                    throw fail("MatMulInteger '" + mmi.name() + "': missing or mis-sized weight scale");
                }
                return new LinearRef(dql.inputs().get(0), add.outputs().getFirst(), null, wq, wscale, wzero, bias);
            }
        }
        return null;
    }

    private static void checkProjection(OnnxTensor w, OnnxTensor bias, OnnxDataType type)
            throws OnnxFormatException {
        long[] d = w.dims();
        if (w.dataType() != type || d.length != 2 || d[1] != bias.dims()[0]) {
            throw fail("projection weight " + w + " does not match bias " + bias);
        }
    }

    /** A decomposed LayerNorm ending at this Add, or {@code null}. */
    private NormRef norm(OnnxNode add) throws OnnxFormatException {
        OnnxNode mul = prod(add.inputs().get(0));
        OnnxTensor beta = init(add.inputs().get(1));
        if (!isOp(mul, "Mul") || beta == null || mul.inputs().size() != 2) {
            return null;
        }
        OnnxNode div = prod(mul.inputs().get(0));
        OnnxTensor gamma = init(mul.inputs().get(1));
        if (!isOp(div, "Div") || gamma == null) {
            return null;
        }
        OnnxNode sub = prod(div.inputs().get(0));
        OnnxNode sqrt = prod(div.inputs().get(1));
        if (!isOp(sub, "Sub") || !isOp(sqrt, "Sqrt") || !isOp(prod(sub.inputs().get(1)), "ReduceMean")) {
            return null;
        }
        OnnxNode epsAdd = prod(sqrt.inputs().getFirst());
        if (!isOp(epsAdd, "Add")) {
            throw fail("LayerNorm at '" + add.name() + "': no epsilon Add before Sqrt");
        }
        float eps = constant(epsAdd.inputs().get(1)).scalarFloat();
        return new NormRef(sub.inputs().get(0), add.outputs().getFirst(), gamma, beta, eps);
    }
}
