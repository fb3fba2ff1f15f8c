package org.nibble.models.bert;

import com.google.protobuf.CodedOutputStream;
import org.junit.jupiter.api.Test;
import org.nibble.engine.onnx.OnnxFormatException;
import org.nibble.engine.onnx.OnnxReader;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BertGraphTest {
    @Test
    void mapsTheMiniLmGraphByStructure() throws Exception {
        BertGraph.Spec spec;
        try (InputStream in = MiniLm.class.getResourceAsStream(MiniLm.ONNX_RESOURCE)) {
            spec = BertGraph.map(OnnxReader.read(in));
        }
        assertEquals(new BertConfig(6, 384, 12, 1536, 30522, 512, 1e-12f), spec.config());
        // shared/ecosystem.md (a), found independently with a Python wire-format reader
        BertGraph.LayerRef l0 = spec.layers().getFirst();
        assertEquals("onnx::MatMul_787", l0.q().weight().name());
        assertEquals("onnx::MatMul_788", l0.k().weight().name());
        assertEquals("onnx::MatMul_791", l0.v().weight().name());
        assertEquals("onnx::MatMul_797", l0.o().weight().name());
        assertEquals("onnx::MatMul_798", l0.ffnIn().weight().name());
        assertEquals("onnx::MatMul_799", l0.ffnOut().weight().name());
        assertEquals("onnx::MatMul_800", spec.layers().get(1).q().weight().name());
        assertEquals("encoder.layer.5.output.LayerNorm.weight", spec.layers().getLast().ln2().gamma().name());
        assertEquals("embeddings.word_embeddings.weight", spec.word().table().name());
    }

    @Test
    void unsupportedOpIsNamed() throws Exception {
        ByteArrayOutputStream node = new ByteArrayOutputStream();
        CodedOutputStream n = CodedOutputStream.newInstance(node);
        n.writeString(1, "x");
        n.writeString(2, "y");
        n.writeString(3, "rnn0");
        n.writeString(4, "LSTM");
        n.flush();
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        CodedOutputStream g = CodedOutputStream.newInstance(graph);
        g.writeByteArray(1, node.toByteArray());
        g.flush();
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        CodedOutputStream m = CodedOutputStream.newInstance(model);
        m.writeInt64(1, 8);
        m.writeByteArray(7, graph.toByteArray());
        m.flush();
        OnnxFormatException e = assertThrows(OnnxFormatException.class,
                () -> BertGraph.map(OnnxReader.read(model.toByteArray())));
        assertTrue(e.getMessage().contains("'LSTM'") && e.getMessage().contains("rnn0"), e.getMessage());
    }

    @Test
    void aGraphWithoutAttentionIsRejected() throws Exception {
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        CodedOutputStream g = CodedOutputStream.newInstance(graph);
        g.writeString(2, "empty");
        g.flush();
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        CodedOutputStream m = CodedOutputStream.newInstance(model);
        m.writeInt64(1, 8);
        m.writeByteArray(7, graph.toByteArray());
        m.flush();
        OnnxFormatException e = assertThrows(OnnxFormatException.class,
                () -> BertGraph.map(OnnxReader.read(model.toByteArray())));
        assertTrue(e.getMessage().contains("BERT"), e.getMessage());
    }
}
