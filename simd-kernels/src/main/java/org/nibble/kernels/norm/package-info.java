/**
 * Normalization kernels over row-major matrices (rows x width, leading dimension, element offsets), forward and
 * backward, each a Vector API implementation beside a scalar reference twin with the same signature:
 * {@link org.nibble.kernels.norm.RowNorm} (LayerNorm, RMSNorm, CRMSNorm, L1 and non-centred L1 LayerNorm),
 * {@link org.nibble.kernels.norm.IntL1Norm} (the fully-quantized integer L1 norm, bit-identical to its twin),
 * {@link org.nibble.kernels.norm.DyT} and {@link org.nibble.kernels.norm.BHyT}. Formulas: papers.md §0, §1.6, §5, §9.
 */
package org.nibble.kernels.norm;
