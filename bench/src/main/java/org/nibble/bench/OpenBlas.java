package org.nibble.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * OpenBLAS through the FFM API, as the native baseline of the GEMM/GEMV benchmarks: {@code cblas_sgemm},
 * {@code cblas_sgemv}, {@code openblas_set_num_threads} and {@code openblas_get_corename} looked up in
 * {@code libopenblas.so.0} (Debian's {@code libopenblas0-pthread}). When the library is absent, {@link #available()}
 * is false and {@link #status()} says why; nothing else is loaded.
 *
 * <p>Note: {@code OPENBLAS_CORETYPE} in the environment forces a kernel family; {@code ./nibble bench} unsets it so
 * OpenBLAS autodetects, and {@link #coreName()} reports what it picked.
 */
public final class OpenBlas {
    private OpenBlas() {
    }

    /** The shared object name (soname) looked up on the loader path. */
    public static final String LIBRARY = "libopenblas.so.0";

    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

    private static final MethodHandle SGEMM, SGEMV, SET_THREADS, CORENAME;
    private static final String STATUS;

    static {
        MethodHandle sgemm = null, sgemv = null, setThreads = null, corename = null;
        String status;
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            sgemm = linker.downcallHandle(lib.findOrThrow("cblas_sgemm"), FunctionDescriptor.ofVoid(JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT,
                    JAVA_FLOAT, ADDRESS, JAVA_INT));
            sgemv = linker.downcallHandle(lib.findOrThrow("cblas_sgemv"), FunctionDescriptor.ofVoid(JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_FLOAT,
                    ADDRESS, JAVA_INT));
            setThreads = linker.downcallHandle(lib.findOrThrow("openblas_set_num_threads"),
                    FunctionDescriptor.ofVoid(JAVA_INT));
            corename = linker.downcallHandle(lib.findOrThrow("openblas_get_corename"), FunctionDescriptor.of(ADDRESS));
            status = "installed";
        } catch (IllegalArgumentException | java.util.NoSuchElementException | IllegalCallerException e) {
            sgemm = sgemv = setThreads = corename = null;
            status = "not installed (" + LIBRARY + ": " + e.getMessage() + "; apt-get install libopenblas0-pthread)";
        }
        SGEMM = sgemm;
        SGEMV = sgemv;
        SET_THREADS = setThreads;
        CORENAME = corename;
        STATUS = status;
    }

    /** True when {@code libopenblas.so.0} was found with the symbols used here. */
    public static boolean available() {
        return SGEMM != null;
    }

    /** "installed", or "not installed (...)" with the reason. */
    public static String status() {
        return STATUS;
    }

    private static void require() {
        if (!available()) {
            throw new IllegalStateException("OpenBLAS " + STATUS);
        }
    }

    /** The kernel family OpenBLAS chose at load time ({@code openblas_get_corename()}), e.g. "Haswell" or "Zen". */
    public static String coreName() {
        require();
        try {
            MemorySegment p = (MemorySegment) CORENAME.invokeExact();
            return p.reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_get_corename failed", t);
        }
    }

    /** {@code openblas_set_num_threads(n)}. */
    public static void setThreads(int n) {
        require();
        try {
            SET_THREADS.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException("openblas_set_num_threads failed", t);
        }
    }

    /** Row-major {@code cblas_sgemm}, with the argument order of {@code GemmF32.gemm} (offsets in elements). */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a,
                             long aOff, int lda, MemorySegment b, long bOff, int ldb, float beta, MemorySegment c,
                             long cOff, int ldc) {
        require();
        try {
            SGEMM.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, alpha,
                    a.asSlice(aOff * 4), lda, b.asSlice(bOff * 4), ldb, beta, c.asSlice(cOff * 4), ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemm failed", t);
        }
    }

    /**
     * Row-major {@code cblas_sgemv}: {@code y = alpha * op(A) x + beta * y}, A stored {@code m x n} (op(A) is
     * {@code n x m} when {@code trans}).
     */
    public static void sgemv(boolean trans, int m, int n, float alpha, MemorySegment a, long aOff, int lda,
                             MemorySegment x, long xOff, int incx, float beta, MemorySegment y, long yOff, int incy) {
        require();
        try {
            SGEMV.invokeExact(ROW_MAJOR, trans ? TRANS : NO_TRANS, m, n, alpha, a.asSlice(aOff * 4), lda,
                    x.asSlice(xOff * 4), incx, beta, y.asSlice(yOff * 4), incy);
        } catch (Throwable t) {
            throw new IllegalStateException("cblas_sgemv failed", t);
        }
    }

    /** One line for benchmark headers: status, and the core and thread default when installed. */
    public static String describe() {
        if (!available()) {
            return STATUS;
        }
        String env = System.getenv("OPENBLAS_CORETYPE");
        return LIBRARY + ", core " + coreName() + (env == null ? " (autodetected)" : " (forced by OPENBLAS_CORETYPE="
                + env + ")");
    }
}
