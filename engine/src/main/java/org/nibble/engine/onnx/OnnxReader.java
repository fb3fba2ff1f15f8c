package org.nibble.engine.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import org.eclipse.collections.api.list.primitive.MutableFloatList;
import org.eclipse.collections.api.list.primitive.MutableIntList;
import org.eclipse.collections.api.list.primitive.MutableLongList;
import org.eclipse.collections.impl.list.mutable.primitive.FloatArrayList;
import org.eclipse.collections.impl.list.mutable.primitive.IntArrayList;
import org.eclipse.collections.impl.list.mutable.primitive.LongArrayList;
import org.nibble.engine.io.ByteFiles;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads ONNX model files ({@code ModelProto}, protobuf wire format) with protobuf-java's {@link CodedInputStream};
 * no generated classes: fields are read by their numbers in {@code onnx.proto}.
 *
 * <p>What is read: the model header (IR version, producer, opsets), the main graph's nodes with their attributes
 * (including tensors in {@code Constant} nodes), initializers stored in {@code raw_data}, {@code float_data},
 * {@code int32_data} or {@code int64_data}, and the graph inputs and outputs. Unknown fields are skipped.
 *
 * <p>Safety: every length is checked against the bytes that remain in its enclosing message before anything is
 * allocated, and a tensor's element count must match the bytes it stores, so a forged size fails with an
 * {@link OnnxFormatException} naming the tensor instead of allocating beyond the file. Tensors with external data,
 * STRING tensors and files of 2 GiB or more are rejected with a message saying so.
 */
public final class OnnxReader {
    // ModelProto
    private static final int MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3,
            MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8;
    // OperatorSetIdProto
    private static final int OPSET_DOMAIN = 1, OPSET_VERSION = 2;
    // GraphProto
    private static final int GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11,
            GRAPH_OUTPUT = 12;
    // NodeProto
    private static final int NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5,
            NODE_DOMAIN = 7;
    // AttributeProto
    private static final int ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_S = 4, ATTR_T = 5, ATTR_FLOATS = 7,
            ATTR_INTS = 8, ATTR_STRINGS = 9, ATTR_TYPE = 20;
    // TensorProto
    private static final int T_DIMS = 1, T_DATA_TYPE = 2, T_SEGMENT = 3, T_FLOAT_DATA = 4, T_INT32_DATA = 5,
            T_STRING_DATA = 6, T_INT64_DATA = 7, T_NAME = 8, T_RAW_DATA = 9, T_DOUBLE_DATA = 10, T_UINT64_DATA = 11,
            T_EXTERNAL_DATA = 13, T_DATA_LOCATION = 14;
    // ValueInfoProto / TypeProto / TypeProto.Tensor / TensorShapeProto / Dimension
    private static final int VI_NAME = 1, VI_TYPE = 2, TYPE_TENSOR = 1, TT_ELEM_TYPE = 1, TT_SHAPE = 2,
            SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2;

    private final byte[] buf;

    private OnnxReader(byte[] buf) {
        this.buf = buf;
    }

    /** Reads an ONNX file. */
    public static OnnxModel read(Path file) throws IOException {
        long size = Files.size(file);
        if (size >= Integer.MAX_VALUE) {
            throw new OnnxFormatException(file + ": " + size + " bytes; files of 2 GiB or more (external data) "
                    + "are not supported");
        }
        try {
            return read(ByteFiles.read(file));
        } catch (OnnxFormatException e) {
            throw new OnnxFormatException(file + ": " + e.getMessage(), e);
        }
    }

    /** Reads an ONNX model from a stream (read to its end, not closed). */
    public static OnnxModel read(InputStream in) throws IOException {
        return read(in.readAllBytes());
    }

    /**
     * Parses an ONNX model held in memory. The returned tensors keep views into {@code bytes}: do not modify it
     * while the model is in use.
     */
    public static OnnxModel read(byte[] bytes) throws OnnxFormatException {
        if (bytes.length == 0) {
            throw new OnnxFormatException("not an ONNX model: the file is empty");
        }
        if (bytes.length >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4) {
            throw new OnnxFormatException("not an ONNX model: this is a zip or jar archive (extract the .onnx "
                    + "file from it)");
        }
        return new OnnxReader(bytes).model();
    }

    // ------------------------------------------------------------------ wire helpers

    /** A length-delimited field: absolute offset and length in {@link #buf}. */
    private record Region(int off, int len) {
    }

    private CodedInputStream open(Region r) {
        return CodedInputStream.newInstance(buf, r.off, r.len);
    }

    /** Reads the length of a length-delimited field and skips over its bytes (which checks they are present). */
    private static Region region(CodedInputStream in, Region parent, String what) throws IOException {
        int len = in.readRawVarint32();
        int start = parent.off + in.getTotalBytesRead();
        int remaining = parent.len - in.getTotalBytesRead();
        if (len < 0 || len > remaining) {
            throw new OnnxFormatException(what + ": length " + (len & 0xFFFFFFFFL) + " exceeds the "
                    + remaining + " bytes left in its message (truncated or corrupt file)");
        }
        in.skipRawBytes(len);
        return new Region(start, len);
    }

    private static void expectWire(int tag, int wireType, String what) throws OnnxFormatException {
        int actual = WireFormat.getTagWireType(tag);
        if (actual != wireType) {
            throw new OnnxFormatException(what + " (field " + WireFormat.getTagFieldNumber(tag)
                    + "): expected wire type " + wireType + ", got " + actual + " (corrupt file or not ONNX)");
        }
    }

    private String string(CodedInputStream in, Region parent, String what) throws IOException {
        Region r = region(in, parent, what);
        return new String(buf, r.off, r.len, StandardCharsets.UTF_8);
    }

    private static OnnxFormatException corrupt(String where, IOException e) {
        if (e instanceof OnnxFormatException f) {
            return f;
        }
        return new OnnxFormatException(where + ": corrupt or truncated protobuf (" + e.getMessage() + ")", e);
    }

    // ------------------------------------------------------------------ messages

    private OnnxModel model() throws OnnxFormatException {
        Region all = new Region(0, buf.length);
        long ir = -1;
        String producer = "", producerVersion = "";
        Map<String, Long> opsets = new LinkedHashMap<>();
        Region graph = null;
        try {
            CodedInputStream in = open(all);
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                switch (WireFormat.getTagFieldNumber(tag)) {
                    case MODEL_IR_VERSION -> {
                        expectWire(tag, WireFormat.WIRETYPE_VARINT, "ModelProto.ir_version");
                        ir = in.readInt64();
                    }
                    case MODEL_PRODUCER_NAME -> {
                        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "ModelProto.producer_name");
                        producer = string(in, all, "ModelProto.producer_name");
                    }
                    case MODEL_PRODUCER_VERSION -> {
                        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "ModelProto.producer_version");
                        producerVersion = string(in, all, "ModelProto.producer_version");
                    }
                    case MODEL_GRAPH -> {
                        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "ModelProto.graph");
                        graph = region(in, all, "ModelProto.graph");
                    }
                    case MODEL_OPSET_IMPORT -> {
                        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "ModelProto.opset_import");
                        opset(region(in, all, "ModelProto.opset_import"), opsets);
                    }
                    default -> in.skipField(tag);
                }
            }
        } catch (IOException e) {
            throw new OnnxFormatException("not a readable ONNX model: ModelProto: corrupt or truncated protobuf ("
                    + e.getMessage() + ")", e);
        }
        if (graph == null) {
            throw new OnnxFormatException("not an ONNX model: no graph (ModelProto field 7)");
        }
        if (ir <= 0) {
            throw new OnnxFormatException("not an ONNX model: missing or invalid ir_version (ModelProto field 1): "
                    + ir);
        }
        return new OnnxModel(ir, producer, producerVersion, Collections.unmodifiableMap(opsets), graph(graph));
    }

    private void opset(Region r, Map<String, Long> opsets) throws IOException {
        CodedInputStream in = open(r);
        String domain = "";
        long version = 0;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case OPSET_DOMAIN -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "OperatorSetIdProto.domain");
                    domain = string(in, r, "OperatorSetIdProto.domain");
                }
                case OPSET_VERSION -> {
                    expectWire(tag, WireFormat.WIRETYPE_VARINT, "OperatorSetIdProto.version");
                    version = in.readInt64();
                }
                default -> in.skipField(tag);
            }
        }
        opsets.put(domain, version);
    }

    private OnnxGraph graph(Region r) throws OnnxFormatException {
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        Map<String, OnnxTensor> inits = new LinkedHashMap<>();
        List<OnnxValueInfo> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        String where = "GraphProto";
        try {
            CodedInputStream in = open(r);
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                switch (WireFormat.getTagFieldNumber(tag)) {
                    case GRAPH_NODE -> {
                        where = "GraphProto.node[" + nodes.size() + "]";
                        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, where);
                        nodes.add(node(region(in, r, where), where));
                    }
                    case GRAPH_NAME -> {
                        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "GraphProto.name");
                        name = string(in, r, "GraphProto.name");
                    }
                    case GRAPH_INITIALIZER -> {
                        where = "GraphProto.initializer[" + inits.size() + "]";
                        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, where);
                        OnnxTensor t = tensor(region(in, r, where), where);
                        if (inits.put(t.name(), t) != null) {
                            throw new OnnxFormatException(where + ": duplicate initializer name '" + t.name() + "'");
                        }
                    }
                    case GRAPH_INPUT, GRAPH_OUTPUT -> {
                        boolean isIn = WireFormat.getTagFieldNumber(tag) == GRAPH_INPUT;
                        where = isIn ? "GraphProto.input" : "GraphProto.output";
                        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, where);
                        OnnxValueInfo v = valueInfo(region(in, r, where));
                        (isIn ? inputs : outputs).add(v);
                    }
                    default -> in.skipField(tag);
                }
            }
        } catch (IOException e) {
            throw corrupt(where, e);
        }
        inputs.removeIf(v -> inits.containsKey(v.name()));
        return new OnnxGraph(name, List.copyOf(nodes), Collections.unmodifiableMap(inits), List.copyOf(inputs),
                List.copyOf(outputs));
    }

    private OnnxNode node(Region r, String where) throws IOException {
        CodedInputStream in = open(r);
        String name = "", op = "", domain = "";
        List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        Map<String, OnnxAttribute> attrs = new LinkedHashMap<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            switch (field) {
                case NODE_INPUT, NODE_OUTPUT, NODE_NAME, NODE_OP_TYPE, NODE_DOMAIN -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, where + " string");
                    String s = string(in, r, where);
                    switch (field) {
                        case NODE_INPUT -> inputs.add(s);
                        case NODE_OUTPUT -> outputs.add(s);
                        case NODE_NAME -> name = s;
                        case NODE_OP_TYPE -> op = s;
                        default -> domain = s;
                    }
                }
                case NODE_ATTRIBUTE -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, where + ".attribute");
                    OnnxAttribute a = attribute(region(in, r, where + ".attribute"), where + " ('" + name + "')");
                    attrs.put(a.name(), a);
                }
                default -> in.skipField(tag);
            }
        }
        if (op.isEmpty()) {
            throw new OnnxFormatException(where + " '" + name + "': no op_type (NodeProto field 4)");
        }
        return new OnnxNode(name, op, domain, List.copyOf(inputs), List.copyOf(outputs),
                Collections.unmodifiableMap(attrs));
    }

    private OnnxAttribute attribute(Region r, String where) throws IOException {
        CodedInputStream in = open(r);
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        byte[] s = null;
        OnnxTensor t = null;
        MutableFloatList floats = new FloatArrayList();
        MutableLongList ints = new LongArrayList();
        List<byte[]> strings = new ArrayList<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            String w = where + ".attribute '" + name + "'";
            switch (WireFormat.getTagFieldNumber(tag)) {
                case ATTR_NAME -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, w + " name");
                    name = string(in, r, w);
                }
                case ATTR_TYPE -> {
                    expectWire(tag, WireFormat.WIRETYPE_VARINT, w + " type");
                    type = in.readEnum();
                }
                case ATTR_F -> {
                    expectWire(tag, WireFormat.WIRETYPE_FIXED32, w + " f");
                    f = in.readFloat();
                }
                case ATTR_I -> {
                    expectWire(tag, WireFormat.WIRETYPE_VARINT, w + " i");
                    i = in.readInt64();
                }
                case ATTR_S -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, w + " s");
                    Region sr = region(in, r, w + " s");
                    s = Arrays.copyOfRange(buf, sr.off, sr.off + sr.len);
                }
                case ATTR_T -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, w + " t");
                    t = tensor(region(in, r, w + " t"), w);
                }
                case ATTR_FLOATS -> readFloats(in, tag, r, floats, w + " floats");
                case ATTR_INTS -> readLongs(in, tag, r, ints, w + " ints");
                case ATTR_STRINGS -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, w + " strings");
                    Region sr = region(in, r, w + " strings");
                    strings.add(Arrays.copyOfRange(buf, sr.off, sr.off + sr.len));
                }
                default -> in.skipField(tag);
            }
        }
        return new OnnxAttribute(name, type, f, i, s, t, floats.toArray(), ints.toArray(), List.copyOf(strings));
    }

    private OnnxValueInfo valueInfo(Region r) throws IOException {
        CodedInputStream in = open(r);
        String name = "";
        OnnxDataType elem = OnnxDataType.UNDEFINED;
        List<Object> dims = new ArrayList<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case VI_NAME -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "ValueInfoProto.name");
                    name = string(in, r, "ValueInfoProto.name");
                }
                case VI_TYPE -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, "ValueInfoProto.type");
                    Region tr = region(in, r, "ValueInfoProto.type");
                    CodedInputStream tin = open(tr);
                    for (int t2 = tin.readTag(); t2 != 0; t2 = tin.readTag()) {
                        if (WireFormat.getTagFieldNumber(t2) == TYPE_TENSOR
                                && WireFormat.getTagWireType(t2) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                            elem = tensorType(region(tin, tr, "TypeProto.tensor_type"), dims);
                        } else {
                            tin.skipField(t2);
                        }
                    }
                }
                default -> in.skipField(tag);
            }
        }
        return new OnnxValueInfo(name, elem, List.copyOf(dims));
    }

    private OnnxDataType tensorType(Region r, List<Object> dims) throws IOException {
        CodedInputStream in = open(r);
        OnnxDataType elem = OnnxDataType.UNDEFINED;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == TT_ELEM_TYPE && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                OnnxDataType e = OnnxDataType.ofCode(in.readInt32());
                elem = e == null ? OnnxDataType.UNDEFINED : e;
            } else if (field == TT_SHAPE && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                Region sr = region(in, r, "TensorShapeProto");
                CodedInputStream sin = open(sr);
                for (int t2 = sin.readTag(); t2 != 0; t2 = sin.readTag()) {
                    if (WireFormat.getTagFieldNumber(t2) == SHAPE_DIM
                            && WireFormat.getTagWireType(t2) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        dims.add(dimension(region(sin, sr, "TensorShapeProto.dim")));
                    } else {
                        sin.skipField(t2);
                    }
                }
            } else {
                in.skipField(tag);
            }
        }
        return elem;
    }

    private Object dimension(Region r) throws IOException {
        CodedInputStream in = open(r);
        Object d = "?";
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == DIM_VALUE && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                d = in.readInt64();
            } else if (field == DIM_PARAM && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                d = string(in, r, "Dimension.dim_param");
            } else {
                in.skipField(tag);
            }
        }
        return d;
    }

    // ------------------------------------------------------------------ tensors

    private void readFloats(CodedInputStream in, int tag, Region parent, MutableFloatList out, String what)
            throws IOException {
        if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_FIXED32) {
            out.add(in.readFloat());
            return;
        }
        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, what);
        Region r = region(in, parent, what);
        if (r.len % 4 != 0) {
            throw new OnnxFormatException(what + ": packed floats of " + r.len + " bytes, not a multiple of 4");
        }
        CodedInputStream p = open(r);
        for (int k = 0; k < r.len / 4; k++) {
            out.add(p.readFloat());
        }
    }

    private void readLongs(CodedInputStream in, int tag, Region parent, MutableLongList out, String what)
            throws IOException {
        if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
            out.add(in.readInt64());
            return;
        }
        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, what);
        Region r = region(in, parent, what);
        CodedInputStream p = open(r);
        while (!p.isAtEnd()) {
            out.add(p.readInt64());
        }
    }

    private void readInts(CodedInputStream in, int tag, Region parent, MutableIntList out, String what)
            throws IOException {
        if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
            out.add(in.readInt32());
            return;
        }
        expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, what);
        Region r = region(in, parent, what);
        CodedInputStream p = open(r);
        while (!p.isAtEnd()) {
            out.add(p.readInt32());
        }
    }

    private OnnxTensor tensor(Region r, String where) throws IOException {
        CodedInputStream in = open(r);
        String name = "";
        int typeCode = 0;
        MutableLongList dims = new LongArrayList();
        Region raw = null;
        MutableFloatList floats = null;
        MutableIntList int32 = null;
        MutableLongList int64 = null;
        String unsupported = null;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            String w = where + " '" + name + "'";
            switch (WireFormat.getTagFieldNumber(tag)) {
                case T_NAME -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, where + " TensorProto.name");
                    name = string(in, r, where + " TensorProto.name");
                }
                case T_DIMS -> readLongs(in, tag, r, dims, w + " TensorProto.dims");
                case T_DATA_TYPE -> {
                    expectWire(tag, WireFormat.WIRETYPE_VARINT, w + " TensorProto.data_type");
                    typeCode = in.readInt32();
                }
                case T_RAW_DATA -> {
                    expectWire(tag, WireFormat.WIRETYPE_LENGTH_DELIMITED, w + " TensorProto.raw_data");
                    raw = region(in, r, w + " TensorProto.raw_data");
                }
                case T_FLOAT_DATA -> readFloats(in, tag, r, floats == null ? floats = new FloatArrayList() : floats,
                        w + " TensorProto.float_data");
                case T_INT32_DATA -> readInts(in, tag, r, int32 == null ? int32 = new IntArrayList() : int32,
                        w + " TensorProto.int32_data");
                case T_INT64_DATA -> readLongs(in, tag, r, int64 == null ? int64 = new LongArrayList() : int64,
                        w + " TensorProto.int64_data");
                case T_STRING_DATA -> {
                    unsupported = "string_data (STRING tensors)";
                    in.skipField(tag);
                }
                case T_DOUBLE_DATA -> {
                    unsupported = "double_data";
                    in.skipField(tag);
                }
                case T_UINT64_DATA -> {
                    unsupported = "uint64_data";
                    in.skipField(tag);
                }
                case T_SEGMENT -> {
                    unsupported = "segment (tensors split over several messages)";
                    in.skipField(tag);
                }
                case T_EXTERNAL_DATA -> {
                    unsupported = "external_data (weights in a separate file)";
                    in.skipField(tag);
                }
                case T_DATA_LOCATION -> {
                    expectWire(tag, WireFormat.WIRETYPE_VARINT, w + " TensorProto.data_location");
                    if (in.readEnum() != 0) {
                        unsupported = "data_location EXTERNAL (weights in a separate file)";
                    }
                }
                default -> in.skipField(tag);
            }
        }
        String w = where + " '" + name + "'";
        if (unsupported != null) {
            throw new OnnxFormatException(w + ": tensor uses " + unsupported + ", which nibble does not support");
        }
        OnnxDataType type = OnnxDataType.ofCode(typeCode);
        if (type == null || type == OnnxDataType.UNDEFINED || type == OnnxDataType.STRING
                || type == OnnxDataType.COMPLEX64 || type == OnnxDataType.COMPLEX128) {
            throw new OnnxFormatException(w + ": unsupported or missing data_type " + typeCode
                    + (type == null ? "" : " (" + type + ")"));
        }
        long[] d = dims.toArray();
        long count = 1;
        for (long x : d) {
            if (x < 0) {
                throw new OnnxFormatException(w + ": negative dimension in dims " + Arrays.toString(d));
            }
            count = x == 0 || count == 0 ? 0 : count > Integer.MAX_VALUE / x ? Long.MAX_VALUE : count * x;
        }
        if (count > Integer.MAX_VALUE) {
            throw new OnnxFormatException(w + ": dims " + Arrays.toString(d) + " give more than "
                    + Integer.MAX_VALUE + " elements, more than the file can hold");
        }
        int n = (int) count;
        int sources = (raw != null ? 1 : 0) + (floats != null ? 1 : 0) + (int32 != null ? 1 : 0)
                + (int64 != null ? 1 : 0);
        if (sources > 1) {
            throw new OnnxFormatException(w + ": data stored in more than one field");
        }
        if (raw != null) {
            long need = (long) n * type.byteSize();
            if (raw.len != need) {
                throw new OnnxFormatException(w + ": dims " + Arrays.toString(d) + " of " + type + " need " + need
                        + " bytes of raw_data, found " + raw.len);
            }
            MemorySegment seg = MemorySegment.ofArray(buf).asSlice(raw.off, raw.len);
            return new OnnxTensor(name, type, d, n, seg, null, null, null);
        }
        if (floats != null) {
            if (type != OnnxDataType.FLOAT) {
                throw new OnnxFormatException(w + ": float_data given for a " + type + " tensor");
            }
            checkCount(w, "float_data", d, n, floats.size());
            return new OnnxTensor(name, type, d, n, null, floats.toArray(), null, null);
        }
        if (int32 != null) {
            switch (type) {
                case INT8, UINT8, INT16, UINT16, INT32, BOOL, FLOAT16, BFLOAT16 -> {
                }
                default -> throw new OnnxFormatException(w + ": int32_data given for a " + type + " tensor");
            }
            checkCount(w, "int32_data", d, n, int32.size());
            return new OnnxTensor(name, type, d, n, null, null, int32.toArray(), null);
        }
        if (int64 != null) {
            if (type != OnnxDataType.INT64) {
                throw new OnnxFormatException(w + ": int64_data given for a " + type + " tensor");
            }
            checkCount(w, "int64_data", d, n, int64.size());
            return new OnnxTensor(name, type, d, n, null, null, null, int64.toArray());
        }
        if (n != 0) {
            throw new OnnxFormatException(w + ": dims " + Arrays.toString(d) + " but no data (none of raw_data, "
                    + "float_data, int32_data, int64_data)");
        }
        return new OnnxTensor(name, type, d, 0, MemorySegment.ofArray(new byte[0]), null, null, null);
    }

    private static void checkCount(String w, String field, long[] d, int n, int found) throws OnnxFormatException {
        if (found != n) {
            throw new OnnxFormatException(w + ": dims " + Arrays.toString(d) + " need " + n + " elements in "
                    + field + ", found " + found);
        }
    }

    /** Names of the distinct op types of a graph, in first-use order (for diagnostics). */
    public static Set<String> opTypes(OnnxGraph g) {
        Set<String> s = new java.util.LinkedHashSet<>();
        for (OnnxNode n : g.nodes()) {
            s.add(n.opType());
        }
        return s;
    }
}
