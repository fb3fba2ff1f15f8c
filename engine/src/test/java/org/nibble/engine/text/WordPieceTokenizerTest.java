package org.nibble.engine.text;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** WordPiece on a hand-made vocabulary: each expectation follows from BERT's rules, written out by hand. */
class WordPieceTokenizerTest {
    static final String VOCAB_TOKENS = "[PAD] [UNK] [CLS] [SEP] [MASK] hello world un ##aff ##able cafe , . ! ? "
            + "$ 北 京 a ##a naive straße odysseus";

    static String json(int maxLength, int maxChars) {
        StringBuilder v = new StringBuilder();
        String[] t = VOCAB_TOKENS.split(" ");
        for (int i = 0; i < t.length; i++) {
            v.append(i == 0 ? "" : ", ").append('"').append(t[i]).append("\": ").append(i);
        }
        return """
                {"version": "1.0", "truncation": {"max_length": %d},
                 "added_tokens": [{"id": 0, "content": "[PAD]"}, {"id": 4, "content": "[MASK]"}],
                 "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                                "strip_accents": null, "lowercase": true},
                 "pre_tokenizer": {"type": "BertPreTokenizer"},
                 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                           "max_input_chars_per_word": %d, "vocab": {%s}}}
                """.formatted(maxLength, maxChars, v);
    }

    static final WordPieceTokenizer TOK = WordPieceTokenizer.fromJson(json(16, 10));

    static int id(String token) {
        return List.of(VOCAB_TOKENS.split(" ")).indexOf(token);
    }

    static int[] ids(String... tokens) {
        int[] r = new int[tokens.length + 2];
        r[0] = id("[CLS]");
        for (int i = 0; i < tokens.length; i++) {
            r[i + 1] = id(tokens[i]);
        }
        r[r.length - 1] = id("[SEP]");
        return r;
    }

    @Test
    void lowercaseAccentsPunctuationAndSubwords() {
        assertArrayEquals(ids("hello", ",", "world", "!"), TOK.encode("Hello, WORLD!"));
        assertArrayEquals(ids("cafe", "naive"), TOK.encode("Café naïve"));
        assertArrayEquals(ids("un", "##aff", "##able"), TOK.encode("unaffable"));
        assertArrayEquals(ids("$", "a", "?", "."), TOK.encode("$a?."));
        assertArrayEquals(ids("odysseus"), TOK.encode("ODYSSEUS"));
    }

    @Test
    void cjkIdeographsAreWordsOfTheirOwn() {
        assertArrayEquals(ids("北", "京", "hello"), TOK.encode("北京hello"));
    }

    @Test
    void controlCharactersAndWhitespace() {
        assertArrayEquals(ids("hello", "world"), TOK.encode("\thel\u0000lo\u200B\n\u00A0world\r\u0007"));
        assertArrayEquals(ids(), TOK.encode(""));
        assertArrayEquals(ids(), TOK.encode("   \n\t "));
    }

    @Test
    void unknownWordsAndOverlongWords() {
        assertArrayEquals(ids("[UNK]", "hello"), TOK.encode("unaffablex hello"), "no complete split -> [UNK]");
        assertArrayEquals(ids("[UNK]"), TOK.encode("🍕"));
        assertArrayEquals(ids("a", "##a", "##a"), TOK.encode("aaa"));
        assertArrayEquals(ids("[UNK]"), TOK.encode("a".repeat(11)), "more than 10 characters -> [UNK]");
        assertArrayEquals(ids("a", "##a", "##a", "##a", "##a", "##a", "##a", "##a", "##a", "##a"),
                TOK.encode("a".repeat(10)));
    }

    @Test
    void addedTokensAreKeptWhole() {
        assertArrayEquals(ids("hello", "[MASK]", "world"), TOK.encode("hello [MASK] world"));
        assertArrayEquals(ids("hello", "[MASK]", "world"), TOK.encode("hello[MASK]world"));
    }

    @Test
    void truncationKeepsClsAndSep() {
        int[] r = TOK.encode("hello ".repeat(40));
        assertEquals(16, r.length);
        assertEquals(id("[CLS]"), r[0]);
        assertEquals(id("[SEP]"), r[15]);
        for (int i = 1; i < 15; i++) {
            assertEquals(id("hello"), r[i]);
        }
        // a word split into pieces is cut piece-wise, as Hugging Face truncates the id sequence
        assertEquals(5, TOK.encode("unaffable unaffable", 5).length);
        assertArrayEquals(new int[]{id("[CLS]"), id("un"), id("##aff"), id("##able"), id("[SEP]")},
                TOK.encode("unaffable hello", 5));
        assertThrows(IllegalArgumentException.class, () -> TOK.encode("x", 1));
    }

    @Test
    void tokensAndVocabulary() {
        assertEquals(List.of("[CLS]", "straße", "[SEP]"), TOK.tokens("Straße"));
        assertEquals(VOCAB_TOKENS.split(" ").length, TOK.vocabSize());
        assertEquals(16, TOK.maxLength());
        assertTrue(WordPieceTokenizer.isPunctuation('$') && WordPieceTokenizer.isPunctuation('—')
                && !WordPieceTokenizer.isPunctuation('a'));
        assertTrue(WordPieceTokenizer.isChinese('北') && !WordPieceTokenizer.isChinese('a'));
    }

    @Test
    void badFilesAreRejectedWithAReason() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WordPieceTokenizer.fromJson("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}"));
        assertTrue(e.getMessage().contains("WordPiece"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer.fromJson("{\"model\": "));
        assertTrue(e.getMessage().contains("position"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WordPieceTokenizer.fromJson(
                "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}"));
        assertTrue(e.getMessage().contains("[CLS]"), e.getMessage());
    }
}
