/**
 * Layers, norms, transformer blocks in every normalization placement, the GPT decoder and the BERT/MiniLM encoder,
 * losses, optimizers and the trainer. Written against engine tensors; never touches {@code jdk.incubator.vector}.
 */
package org.nibble.models;
