package org.nibble.bench;

import org.nibble.models.gpt.Gpt;
import org.nibble.models.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/** {@code nibble generate}: samples bytes from a trained checkpoint with a KV cache (temperature, top-k). */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Sample text from a checkpoint written by 'nibble train'.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    NibbleCli.Common common;

    @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "checkpoint.safetensors")
    Path checkpoint;
    @Option(names = "--prompt", description = "Prompt text (default: '${DEFAULT-VALUE}').")
    String prompt = "The ";
    @Option(names = "--tokens", description = "Bytes to generate (default: ${DEFAULT-VALUE}).")
    int tokens = 200;
    @Option(names = "--temperature", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature = 0.8;
    @Option(names = "--top-k", description = "Sample among the k most likely bytes; 0 = all (default: ${DEFAULT-VALUE}).")
    int topK = 40;
    @Option(names = "--seed", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Override
    public Integer call() throws IOException {
        if (temperature < 0 || topK < 0 || tokens < 0) {
            throw new IllegalArgumentException("--temperature, --top-k, --tokens: expected >= 0");
        }
        byte[] p = prompt.getBytes(StandardCharsets.UTF_8);
        if (p.length == 0) {
            throw new IllegalArgumentException("--prompt: expected at least one byte");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        try (Gpt model = Trainer.loadModel(checkpoint)) {
            model.setTraining(false);
            int ctx = model.config().ctx();
            int[] history = new int[p.length + tokens];
            for (int i = 0; i < p.length; i++) {
                history[i] = p[i] & 0xFF;
            }
            int n = p.length;
            Gpt.Session s = model.session();
            try {
                // feed the prompt (its last ctx - 1 bytes)
                float[] logits = null;
                for (int i = Math.max(0, n - (ctx - 1)); i < n; i++) {
                    logits = s.next(history[i]);
                }
                for (int k = 0; k < tokens; k++) {
                    int next = sample(logits, rng);
                    history[n++] = next;
                    outBytes.write(next);
                    if (s.position() == ctx) {
                        // context full: restart the cache on the last half of the context
                        s.close();
                        s = model.session();
                        for (int i = n - ctx / 2; i < n; i++) {
                            logits = s.next(history[i]);
                        }
                    } else {
                        logits = s.next(next);
                    }
                }
            } finally {
                s.close();
            }
        }
        double sec = (System.nanoTime() - t0) / 1e9;
        System.out.println(prompt + new String(outBytes.toByteArray(), StandardCharsets.UTF_8));
        System.err.printf("[%d bytes in %.2f s, %.1f bytes/s]%n", tokens, sec, tokens / sec);
        return 0;
    }

    private int sample(float[] logits, SplittableRandom rng) {
        int v = logits.length;
        if (temperature == 0) {
            int best = 0;
            for (int i = 1; i < v; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        float cutoff = Float.NEGATIVE_INFINITY;
        if (topK > 0 && topK < v) {
            float[] sorted = logits.clone();
            Arrays.sort(sorted);
            cutoff = sorted[v - topK];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] w = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            w[i] = logits[i] >= cutoff ? Math.exp((logits[i] - max) / temperature) : 0;
            sum += w[i];
        }
        double u = rng.nextDouble() * sum;
        for (int i = 0; i < v; i++) {
            u -= w[i];
            if (u <= 0 && w[i] > 0) {
                return i;
            }
        }
        return v - 1;
    }
}
