package org.nibble.models.bert;

/**
 * Shape of a BERT encoder, read from the model file.
 *
 * @param layers       encoder layers
 * @param hidden       hidden size
 * @param heads        attention heads
 * @param intermediate feed-forward size
 * @param vocab        vocabulary size
 * @param maxPositions longest sequence (position table rows)
 * @param eps          LayerNorm epsilon
 */
public record BertConfig(int layers, int hidden, int heads, int intermediate, int vocab, int maxPositions,
                         float eps) {
    /** Size of one attention head. */
    public int headDim() {
        return hidden / heads;
    }
}
