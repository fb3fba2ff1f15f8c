package org.nibble.models.bert;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/** ONNX Runtime (one thread) on a class-path ONNX model: the reference for the encoder's outputs. */
final class OrtReference implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OrtReference(String resource) throws OrtException {
        byte[] bytes;
        try (InputStream in = OrtReference.class.getResourceAsStream(resource)) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(1);
            o.setInterOpNumThreads(1);
            session = env.createSession(bytes, o);
        }
    }

    /** last_hidden_state [batch][maxLen][hidden] for the batch, right-padded with id 0 and masked. */
    float[][][] lastHiddenState(List<int[]> batch) throws OrtException {
        int maxLen = 0;
        for (int[] ids : batch) {
            maxLen = Math.max(maxLen, ids.length);
        }
        long[][] ids = new long[batch.size()][maxLen];
        long[][] mask = new long[batch.size()][maxLen];
        long[][] types = new long[batch.size()][maxLen];
        for (int s = 0; s < batch.size(); s++) {
            for (int t = 0; t < batch.get(s).length; t++) {
                ids[s][t] = batch.get(s)[t];
                mask[s][t] = 1;
            }
        }
        try (OnnxTensor a = OnnxTensor.createTensor(env, ids);
             OnnxTensor m = OnnxTensor.createTensor(env, mask);
             OnnxTensor t = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", m, "token_type_ids", t))) {
            return (float[][][]) r.get(0).getValue();
        }
    }

    /** Mean over the first {@code len} tokens, L2-normalized, in double. */
    static float[] pool(float[][] hidden, int len) {
        int dim = hidden[0].length;
        double[] acc = new double[dim];
        for (int t = 0; t < len; t++) {
            for (int j = 0; j < dim; j++) {
                acc[j] += hidden[t][j];
            }
        }
        double n = 0;
        for (int j = 0; j < dim; j++) {
            acc[j] /= len;
            n += acc[j] * acc[j];
        }
        float[] v = new float[dim];
        for (int j = 0; j < dim; j++) {
            v[j] = (float) (acc[j] / Math.sqrt(n));
        }
        return v;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
