/**
 * Training: {@link org.nibble.models.train.Trainer} (seeded batches, AdamW with warmup + cosine schedule, global-norm
 * clipping, validation, non-finite detection, safetensors checkpoints with exact resume) and its
 * {@link org.nibble.models.train.TrainConfig}.
 */
package org.nibble.models.train;
