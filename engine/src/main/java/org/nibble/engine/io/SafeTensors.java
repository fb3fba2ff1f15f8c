package org.nibble.engine.io;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length {@code N}, {@code N} bytes of
 * UTF-8 JSON mapping each tensor name to {@code {"dtype", "shape", "data_offsets": [begin, end]}} (offsets relative
 * to the data section that follows the header) plus an optional {@code "__metadata__"} object of strings, then the
 * raw little-endian tensor bytes.
 *
 * <p>Writes are atomic: a temporary file in the same folder is written, forced to disk and renamed over the target,
 * so a crash leaves either the old file or the new one. Reads validate everything against the file size before
 * allocating: a corrupt or forged header fails with {@link SafeTensorsException} and never makes the reader
 * allocate more than the file holds.
 */
public final class SafeTensors {
    private SafeTensors() {
    }

    /** Largest header accepted (the reference implementation's limit). */
    public static final long MAX_HEADER = 100L * 1024 * 1024;

    /** A malformed, truncated or foreign file. */
    public static final class SafeTensorsException extends IOException {
        public SafeTensorsException(String message) {
            super(message);
        }
    }

    /** The tensors (in file order) and the metadata of a file. */
    public record Loaded(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    /** Writes {@code tensors} (any contiguous F32/F16/BF16/I8/I32) and string {@code metadata} atomically. */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        StringBuilder h = new StringBuilder("{");
        boolean first = true;
        if (metadata != null && !metadata.isEmpty()) {
            h.append("\"__metadata__\":{");
            boolean f2 = true;
            for (var e : metadata.entrySet()) {
                h.append(f2 ? "" : ",").append(Json.quote(e.getKey())).append(':').append(Json.quote(e.getValue()));
                f2 = false;
            }
            h.append('}');
            first = false;
        }
        long offset = 0;
        List<Tensor> order = new ArrayList<>();
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            if (e.getKey().equals("__metadata__")) {
                throw new IllegalArgumentException("tensors: the name __metadata__ is reserved");
            }
            if (!t.isContiguous()) {
                throw new IllegalArgumentException("tensors[" + e.getKey() + "]: expected a contiguous tensor");
            }
            long bytes = t.numel() * t.dtype().byteSize();
            h.append(first ? "" : ",").append(Json.quote(e.getKey())).append(":{\"dtype\":\"")
                    .append(dtypeName(t.dtype())).append("\",\"shape\":").append(shapeJson(t.shape()))
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            first = false;
            offset += bytes;
            order.add(t);
        }
        h.append('}');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        int pad = (int) ((8 - header.length % 8) % 8); // keep the data section 8-byte aligned (spaces are allowed)
        byte[] padded = new byte[header.length + pad];
        System.arraycopy(header, 0, padded, 0, header.length);
        java.util.Arrays.fill(padded, header.length, padded.length, (byte) ' ');

        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Path tmp = Files.createTempFile(dir, abs.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length).flip();
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(padded));
                for (Tensor t : order) {
                    long bs = t.dtype().byteSize();
                    MemorySegment s = t.segment().asSlice(t.offset() * bs, t.numel() * bs);
                    writeFully(ch, s.asByteBuffer());
                }
                ch.force(true);
            }
            try {
                // temp files are created owner-only; a checkpoint gets ordinary rw-r--r-- permissions
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            if (dir != null) {
                try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                    d.force(true); // make the rename durable (works on Linux; best effort elsewhere)
                } catch (IOException | UnsupportedOperationException ignored) {
                    // some platforms cannot open or sync a directory
                }
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Reads every tensor into {@code scope}. */
    public static Loaded read(Path path, Scope scope) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new SafeTensorsException(path + ": no such file");
        }
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafeTensorsException(path + ": not a safetensors file (" + size
                        + " bytes, shorter than the 8-byte header length)");
            }
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (n <= 1 || n > size - 8 || n > MAX_HEADER) {
                throw new SafeTensorsException(path + ": not a safetensors file (header length " + n
                        + " does not fit a " + size + "-byte file)");
            }
            byte[] hb = file.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            if (hb[0] != '{') {
                throw new SafeTensorsException(path + ": not a safetensors file (header does not start with '{')");
            }
            Object parsed;
            try {
                parsed = Json.parse(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(hb)).toString());
            } catch (java.nio.charset.CharacterCodingException | IllegalArgumentException e) {
                throw new SafeTensorsException(path + ": corrupt safetensors header: " + e.getMessage());
            }
            if (!(parsed instanceof Map<?, ?> header)) {
                throw new SafeTensorsException(path + ": corrupt safetensors header: expected a JSON object");
            }
            long dataStart = 8 + n, dataSize = size - dataStart;
            Map<String, String> meta = new LinkedHashMap<>();
            Map<String, Tensor> out = new LinkedHashMap<>();
            // validate every entry before allocating anything
            List<Spec> specs = new ArrayList<>();
            for (var e : header.entrySet()) {
                String name = (String) e.getKey();
                if (name.equals("__metadata__")) {
                    if (!(e.getValue() instanceof Map<?, ?> m)) {
                        throw new SafeTensorsException(path + ": __metadata__ must be an object of strings");
                    }
                    for (var me : m.entrySet()) {
                        if (!(me.getValue() instanceof String v)) {
                            throw new SafeTensorsException(path + ": __metadata__[" + me.getKey()
                                    + "] must be a string");
                        }
                        meta.put((String) me.getKey(), v);
                    }
                    continue;
                }
                specs.add(spec(path, name, e.getValue(), dataSize));
            }
            // ranges must not overlap, so all tensors together never need more memory than the file holds
            List<Spec> byOffset = new ArrayList<>(specs);
            byOffset.sort(java.util.Comparator.comparingLong(Spec::begin));
            long end = 0;
            for (Spec s : byOffset) {
                if (s.begin < end) {
                    throw new SafeTensorsException(path + ": tensor \"" + s.name + "\": data_offsets [" + s.begin
                            + ", " + s.end + "] overlap another tensor's data (ending at " + end + ")");
                }
                end = s.end;
            }
            for (Spec s : specs) {
                Tensor t = scope.zeros(s.dtype, s.shape);
                MemorySegment.copy(file, dataStart + s.begin, t.segment(), 0, s.end - s.begin);
                out.put(s.name, t);
            }
            return new Loaded(Collections.unmodifiableMap(out), Collections.unmodifiableMap(meta));
        }
    }

    private record Spec(String name, DType dtype, int[] shape, long begin, long end) {
    }

    /** Validates one header entry against the data section size. */
    private static Spec spec(Path path, String name, Object value, long dataSize) throws SafeTensorsException {
        String where = path + ": tensor \"" + name + "\": ";
        if (!(value instanceof Map<?, ?> m)) {
            throw new SafeTensorsException(where + "expected an object with dtype, shape, data_offsets");
        }
        if (!(m.get("dtype") instanceof String dt)) {
            throw new SafeTensorsException(where + "missing dtype");
        }
        DType dtype = switch (dt) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "I8" -> DType.I8;
            case "I32" -> DType.I32;
            default -> throw new SafeTensorsException(where + "unsupported dtype " + dt
                    + " (expected F32, F16, BF16, I8 or I32)");
        };
        if (!(m.get("shape") instanceof List<?> sh)) {
            throw new SafeTensorsException(where + "missing shape");
        }
        if (sh.size() > 8) {
            throw new SafeTensorsException(where + "expected a shape of at most 8 dimensions, got " + sh.size());
        }
        int[] shape = new int[sh.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!(sh.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                throw new SafeTensorsException(where + "shape[" + i + "]: expected an integer in [0, 2^31), got "
                        + sh.get(i));
            }
            shape[i] = (int) (long) d;
            // saturate at dataSize + 1: any count beyond the data section is an error, and nothing overflows
            if (d == 0) {
                count = 0;
            } else if (count > (dataSize + 1) / d) {
                count = dataSize + 1;
            } else {
                count *= d;
            }
        }
        if (!(m.get("data_offsets") instanceof List<?> off) || off.size() != 2
                || !(off.get(0) instanceof Long begin) || !(off.get(1) instanceof Long end)) {
            throw new SafeTensorsException(where + "expected data_offsets [begin, end] of integers");
        }
        if (begin < 0 || end < begin || end > dataSize) {
            throw new SafeTensorsException(where + "data_offsets [" + begin + ", " + end
                    + "] outside the data section of " + dataSize + " bytes");
        }
        if (count > dataSize || count * dtype.byteSize() != end - begin) {
            throw new SafeTensorsException(where + "shape " + java.util.Arrays.toString(shape) + " of " + dt
                    + " needs " + (count > dataSize ? "more than " + dataSize : count * dtype.byteSize())
                    + " bytes, data_offsets give " + (end - begin));
        }
        return new Spec(name, dtype, shape, begin, end);
    }

    private static String dtypeName(DType d) {
        return switch (d) {
            case F32 -> "F32";
            case F16 -> "F16";
            case BF16 -> "BF16";
            case I8 -> "I8";
            case I32 -> "I32";
        };
    }

    private static String shapeJson(int[] shape) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            b.append(i == 0 ? "" : ",").append(shape[i]);
        }
        return b.append(']').toString();
    }
}
