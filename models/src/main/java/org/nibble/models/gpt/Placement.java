package org.nibble.models.gpt;

import java.util.Locale;

/**
 * Where the norms sit in a transformer block (papers.md 0.3 and sections 2-4). F1 = attention, F2 = MLP, N a norm.
 * <pre>
 * POST : h = N(x + F1(x));        y = N(h + F2(h))                 no final norm
 * PRE  : h = x + F1(N(x));        y = h + F2(N(h))                 final norm
 * PERI : h = x + N'(F1(N(x)));    y = h + N'(F2(N(h)))             final norm, optional embedding norm (default on)
 * MIX  : blocks 1..floor(alpha L) POST, the rest PRE (alpha 0.25)  final norm always
 * LNS  : PRE with both norm outputs of block l scaled by 1/sqrt(l) final norm unscaled
 * </pre>
 */
public enum Placement {
    POST, PRE, PERI, MIX, LNS;

    /** Parses {@code post|pre|peri|mix|lns} (case-insensitive). */
    public static Placement parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("placement: expected one of post, pre, peri, mix, lns, got '" + s + "'");
        }
    }

    /** Lower-case name as used on the command line. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
