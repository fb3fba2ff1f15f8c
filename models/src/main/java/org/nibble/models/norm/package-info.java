/**
 * The normalization zoo as layers: {@link org.nibble.models.norm.Norm} and its factory
 * {@link org.nibble.models.norm.Norm#create} (layernorm, rmsnorm, srmsnorm, crmsnorm, l1, l1-nc, int-l1, powernorm,
 * unified, dyt, bhyt), configured by {@link org.nibble.models.norm.NormOptions}.
 */
package org.nibble.models.norm;
