package org.nibble.models.gpt;

import java.util.Map;

/**
 * An independent double-precision GPT forward pass (plain arrays, no engine code), the oracle of the gradient check.
 * It encodes the documented conventions: Linear weights {@code (out, in)}, qkv output order q|k|v with head h at
 * columns {@code [h*hd, (h+1)*hd)}, GELU tanh, LayerNorm/RMSNorm eps 1e-5, tied head, placements of papers.md 0.3.
 */
final class GptReference {
    private final GptConfig cfg;
    private final Map<String, double[]> p;

    GptReference(GptConfig cfg, Map<String, double[]> params) {
        this.cfg = cfg;
        this.p = params;
    }

    double loss(int[] tokens, int[] targets, int batch, int len) {
        int c = cfg.dim(), n = batch * len, v = cfg.vocab();
        double[][] x = new double[n][c];
        double[] wte = p.get("wte"), wpe = p.get("wpe");
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                x[i][j] = wte[tokens[i] * c + j] + wpe[(i % len) * c + j];
            }
        }
        Placement pl = cfg.placement();
        if (pl == Placement.PERI && cfg.embedNorm()) {
            x = norm(x, "ln_embed");
        }
        for (int l = 0; l < cfg.layers(); l++) {
            Placement kind = pl == Placement.MIX ? (l < Math.floor(cfg.mixAlpha() * cfg.layers()) ? Placement.POST
                    : Placement.PRE) : pl;
            String b = "blocks." + l;
            double s = kind == Placement.LNS ? 1 / Math.sqrt(l + 1) : 1;
            switch (kind) {
                case POST -> {
                    double[][] h = norm(add(x, attn(x, b + ".attn", batch, len)), b + ".ln1");
                    x = norm(add(h, mlp(h, b + ".mlp")), b + ".ln2");
                }
                case PRE, LNS -> {
                    double[][] h = add(x, attn(mul(norm(x, b + ".ln1"), s), b + ".attn", batch, len));
                    x = add(h, mlp(mul(norm(h, b + ".ln2"), s), b + ".mlp"));
                }
                case PERI -> {
                    double[][] h = add(x, norm(attn(norm(x, b + ".ln1"), b + ".attn", batch, len), b + ".ln1out"));
                    x = add(h, norm(mlp(norm(h, b + ".ln2"), b + ".mlp"), b + ".ln2out"));
                }
                default -> throw new AssertionError();
            }
        }
        if (pl != Placement.POST) {
            x = norm(x, "ln_f");
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            double[] lg = new double[v];
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < v; t++) {
                double d = 0;
                for (int j = 0; j < c; j++) {
                    d += x[i][j] * wte[t * c + j];
                }
                lg[t] = d;
                max = Math.max(max, d);
            }
            double sum = 0;
            for (double d : lg) {
                sum += Math.exp(d - max);
            }
            total += max + Math.log(sum) - lg[targets[i]];
        }
        return total / n;
    }

    private double[][] norm(double[][] x, String prefix) {
        boolean ln = cfg.norm().startsWith("layer") || cfg.norm().equals("ln");
        double[] w = p.get(prefix + ".weight"), b = p.get(prefix + ".bias");
        int c = x[0].length;
        double[][] y = new double[x.length][c];
        for (int i = 0; i < x.length; i++) {
            double mu = 0;
            if (ln) {
                for (double d : x[i]) {
                    mu += d;
                }
                mu /= c;
            }
            double var = 0;
            for (double d : x[i]) {
                var += (d - mu) * (d - mu);
            }
            double r = 1 / Math.sqrt(var / c + (ln ? 1e-5 : 1e-6));
            for (int j = 0; j < c; j++) {
                y[i][j] = (x[i][j] - mu) * r * w[j] + (ln ? b[j] : 0);
            }
        }
        return y;
    }

    private double[][] linear(double[][] x, String prefix) {
        double[] w = p.get(prefix + ".weight"), b = p.get(prefix + ".bias");
        int in = x[0].length, out = b.length;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double d = b[o];
                for (int k = 0; k < in; k++) {
                    d += x[i][k] * w[o * in + k];
                }
                y[i][o] = d;
            }
        }
        return y;
    }

    private double[][] attn(double[][] x, String prefix, int batch, int len) {
        int c = cfg.dim(), hd = cfg.headDim();
        double[][] qkv = linear(x, prefix + ".qkv");
        double[][] ctx = new double[x.length][c];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < cfg.heads(); h++) {
                for (int t = 0; t < len; t++) {
                    double[] q = qkv[b * len + t];
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u <= t; u++) {
                        double[] k = qkv[b * len + u];
                        double d = 0;
                        for (int j = 0; j < hd; j++) {
                            d += q[h * hd + j] * k[c + h * hd + j];
                        }
                        s[u] = d / Math.sqrt(hd);
                        max = Math.max(max, s[u]);
                    }
                    double sum = 0;
                    for (int u = 0; u <= t; u++) {
                        s[u] = Math.exp(s[u] - max);
                        sum += s[u];
                    }
                    for (int u = 0; u <= t; u++) {
                        double[] vv = qkv[b * len + u];
                        for (int j = 0; j < hd; j++) {
                            ctx[b * len + t][h * hd + j] += s[u] / sum * vv[2 * c + h * hd + j];
                        }
                    }
                }
            }
        }
        return linear(ctx, prefix + ".proj");
    }

    private double[][] mlp(double[][] x, String prefix) {
        double[][] a = linear(x, prefix + ".fc");
        for (double[] row : a) {
            for (int j = 0; j < row.length; j++) {
                double v = row[j];
                row[j] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            }
        }
        return linear(a, prefix + ".proj");
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][a[0].length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                y[i][j] = a[i][j] + b[i][j];
            }
        }
        return y;
    }

    private static double[][] mul(double[][] a, double s) {
        for (double[] row : a) {
            for (int j = 0; j < row.length; j++) {
                row[j] *= s;
            }
        }
        return a;
    }
}
