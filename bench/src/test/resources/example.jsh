import org.nibble.engine.*;
import org.nibble.kernels.*;
var scope = Scope.open("jshell");
var x = scope.fromArray(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
var y = scope.full(DType.F32, 0.5f, 2, 3);
FloatOps.axpy(6, 2f, x.segment(), x.offset(), y.segment(), y.offset());
System.out.println("axpy=" + java.util.Arrays.toString(y.toFloatArray()));
System.out.println("dot=" + FloatOps.dot(6, x.segment(), 0, x.segment(), 0));
System.out.println(x.transpose(0, 1));
scope.close();
/exit
