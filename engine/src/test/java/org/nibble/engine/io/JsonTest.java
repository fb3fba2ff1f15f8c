package org.nibble.engine.io;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {
    @Test
    void values() {
        Object v = Json.parse(" {\"a\": [1, -2.5e1, true, false, null, \"x\\u00e9\\n\\\"\\ud83d\\ude00\"], \"b\": {}} ");
        Map<?, ?> m = (Map<?, ?>) v;
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-25.0, a.get(1));
        assertEquals(Boolean.TRUE, a.get(2));
        assertEquals(Boolean.FALSE, a.get(3));
        assertNull(a.get(4));
        assertEquals("xé\n\"😀", a.get(5));
        assertEquals(Map.of(), m.get("b"));
        assertEquals(List.of(), Json.parse("[]"));
    }

    @Test
    void errorsNameThePosition() {
        for (String bad : new String[]{"", "{", "[1,", "{\"a\" 1}", "\"abc", "[1] x", "tru", "{\"a\": \"\\q\"}",
                "-", "[\"\\u12\"]", "[".repeat(600)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
            assertTrue(e.getMessage().contains("position"), e.getMessage());
        }
    }
}
