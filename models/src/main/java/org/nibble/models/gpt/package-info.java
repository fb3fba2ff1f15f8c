/**
 * The GPT decoder: {@link org.nibble.models.gpt.Gpt} (embeddings, blocks in every normalization placement of
 * {@link org.nibble.models.gpt.Placement}, tied LM head, cross-entropy, KV-cached decoding), its layers
 * ({@link org.nibble.models.gpt.Linear} with a pluggable {@link org.nibble.models.gpt.LinearMath}: FP32 or ShiftQuant,
 * {@link org.nibble.models.gpt.Attention}, {@link org.nibble.models.gpt.Mlp}, {@link org.nibble.models.gpt.Block}) and
 * {@link org.nibble.models.gpt.Ops}, the one facade over the numeric kernels.
 */
package org.nibble.models.gpt;
