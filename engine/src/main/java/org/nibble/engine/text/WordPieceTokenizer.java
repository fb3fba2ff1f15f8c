package org.nibble.engine.text;

import org.nibble.engine.io.Json;

import org.eclipse.collections.api.map.primitive.MutableObjectIntMap;
import org.eclipse.collections.impl.list.mutable.primitive.IntArrayList;
import org.eclipse.collections.impl.map.mutable.primitive.ObjectIntHashMap;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * BERT's WordPiece tokenizer, configured from a Hugging Face {@code tokenizer.json} (model type {@code WordPiece},
 * normalizer {@code BertNormalizer}, pre-tokenizer {@code BertPreTokenizer}).
 *
 * <p>Pipeline (as the Hugging Face {@code tokenizers} library does it):
 * <ol>
 *   <li>added tokens ({@code [CLS]}, {@code [MASK]}, ...) written literally in the text are kept whole;</li>
 *   <li>BertNormalizer: drop U+0000, U+FFFD and control characters (categories Cc, Cf, Cn, Co except tab, newline,
 *       carriage return), map white space to a space; put spaces around CJK ideographs; strip accents (NFD, then
 *       drop non-spacing marks, category Mn) when {@code strip_accents} is true or unset with lowercasing; lowercase;</li>
 *   <li>BertPreTokenizer: split on white space, and make each punctuation character (ASCII punctuation or Unicode
 *       category P*) a word of its own;</li>
 *   <li>WordPiece: greedy longest match first, continuation pieces prefixed {@code ##}; a word longer than
 *       {@code max_input_chars_per_word} characters, or with no complete split, becomes {@code [UNK]};</li>
 *   <li>{@code [CLS]} + pieces + {@code [SEP]}, truncated so the whole sequence has at most {@link #maxLength()}
 *       ids (the file's {@code truncation.max_length}).</li>
 * </ol>
 */
public final class WordPieceTokenizer {
    private final MutableObjectIntMap<String> vocab;
    private final String[] idToToken;
    private final String unkToken;
    private final String prefix;
    private final int maxCharsPerWord;
    private final int maxLength;
    private final boolean lowercase;
    private final boolean stripAccents;
    private final boolean cleanText;
    private final boolean chineseChars;
    private final List<String> addedTokens;
    private final int clsId;
    private final int sepId;
    private final int unkId;
    private final int padId;

    private WordPieceTokenizer(Map<String, Object> root) {
        Map<String, Object> model = obj(root, "model");
        if (!"WordPiece".equals(model.get("type"))) {
            throw new IllegalArgumentException("tokenizer.json: expected model.type WordPiece, got "
                    + model.get("type"));
        }
        Map<String, Object> v = obj(model, "vocab");
        vocab = new ObjectIntHashMap<>(v.size());
        int maxId = -1;
        for (Map.Entry<String, Object> e : v.entrySet()) {
            int id = ((Number) e.getValue()).intValue();
            if (id < 0) {
                throw new IllegalArgumentException("tokenizer.json: negative id " + id + " for '" + e.getKey() + "'");
            }
            vocab.put(e.getKey(), id);
            maxId = Math.max(maxId, id);
        }
        idToToken = new String[maxId + 1];
        vocab.forEachKeyValue((k, id) -> idToToken[id] = k);
        unkToken = str(model, "unk_token", "[UNK]");
        prefix = str(model, "continuing_subword_prefix", "##");
        maxCharsPerWord = ((Number) model.getOrDefault("max_input_chars_per_word", 100L)).intValue();

        Object n = root.get("normalizer");
        if (n instanceof Map<?, ?> nm) {
            if (!"BertNormalizer".equals(nm.get("type"))) {
                throw new IllegalArgumentException("tokenizer.json: expected normalizer.type BertNormalizer, got "
                        + nm.get("type"));
            }
            lowercase = !Boolean.FALSE.equals(nm.get("lowercase"));
            Object sa = nm.get("strip_accents");
            stripAccents = sa == null ? lowercase : Boolean.TRUE.equals(sa);
            cleanText = !Boolean.FALSE.equals(nm.get("clean_text"));
            chineseChars = !Boolean.FALSE.equals(nm.get("handle_chinese_chars"));
        } else {
            lowercase = stripAccents = cleanText = chineseChars = false;
        }
        Object pt = root.get("pre_tokenizer");
        if (pt instanceof Map<?, ?> pm && !"BertPreTokenizer".equals(pm.get("type"))) {
            throw new IllegalArgumentException("tokenizer.json: expected pre_tokenizer.type BertPreTokenizer, got "
                    + pm.get("type"));
        }
        Object tr = root.get("truncation");
        maxLength = tr instanceof Map<?, ?> tm && tm.get("max_length") instanceof Number num ? num.intValue()
                : 512;
        List<String> added = new ArrayList<>();
        if (root.get("added_tokens") instanceof List<?> at) {
            for (Object o : at) {
                if (o instanceof Map<?, ?> m && m.get("content") instanceof String c && !c.isEmpty()) {
                    added.add(c);
                }
            }
        }
        // Longest first, so that a longer added token wins over a prefix of it.
        added.sort((a, b) -> b.length() - a.length());
        addedTokens = List.copyOf(added);
        clsId = id("[CLS]");
        sepId = id("[SEP]");
        unkId = id(unkToken);
        padId = vocab.containsKey("[PAD]") ? vocab.get("[PAD]") : 0;
    }

    private int id(String token) {
        if (!vocab.containsKey(token)) {
            throw new IllegalArgumentException("tokenizer.json: vocabulary has no " + token + " token");
        }
        return vocab.get(token);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> obj(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof Map<?, ?> o)) {
            throw new IllegalArgumentException("tokenizer.json: missing object '" + key + "'");
        }
        return (Map<String, Object>) o;
    }

    private static String str(Map<String, Object> m, String key, String dflt) {
        return m.get(key) instanceof String s ? s : dflt;
    }

    /** Reads a Hugging Face {@code tokenizer.json}. */
    public static WordPieceTokenizer fromJson(String json) {
        Object root = Json.parse(json);
        if (!(root instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("tokenizer.json: expected a JSON object at the top");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) root;
        return new WordPieceTokenizer(m);
    }

    /** Reads a Hugging Face {@code tokenizer.json} file. */
    public static WordPieceTokenizer load(Path file) throws IOException {
        return fromJson(Files.readString(file, StandardCharsets.UTF_8));
    }

    /** Reads a Hugging Face {@code tokenizer.json} from a stream (not closed). */
    public static WordPieceTokenizer load(InputStream in) throws IOException {
        return fromJson(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }

    /** Maximum sequence length, special tokens included. */
    public int maxLength() {
        return maxLength;
    }

    /** Vocabulary size (largest id + 1). */
    public int vocabSize() {
        return idToToken.length;
    }

    /** Id of the padding token. */
    public int padId() {
        return padId;
    }

    /** The token of an id. */
    public String token(int id) {
        if (id < 0 || id >= idToToken.length) {
            throw new IndexOutOfBoundsException("id: expected 0.." + (idToToken.length - 1) + ", got " + id);
        }
        return idToToken[id];
    }

    /** {@code [CLS]} + WordPiece ids of {@code text} + {@code [SEP]}, at most {@link #maxLength()} ids. */
    public int[] encode(String text) {
        return encode(text, maxLength);
    }

    /** As {@link #encode(String)}, truncated to at most {@code maxLen} ids ({@code >= 2}). */
    public int[] encode(String text, int maxLen) {
        if (maxLen < 2) {
            throw new IllegalArgumentException("maxLen: expected >= 2, got " + maxLen);
        }
        IntArrayList ids = new IntArrayList();
        ids.add(clsId);
        int budget = maxLen - 2;
        for (String w : words(text)) {
            if (ids.size() - 1 >= budget) {
                break;
            }
            wordPiece(w, ids);
        }
        if (ids.size() - 1 > budget) {
            ids = IntArrayList.newListWith(Arrays.copyOf(ids.toArray(), budget + 1));
        }
        ids.add(sepId);
        return ids.toArray();
    }

    /** The tokens of {@link #encode(String)} (for display). */
    public List<String> tokens(String text) {
        List<String> out = new ArrayList<>();
        for (int id : encode(text)) {
            out.add(idToToken[id]);
        }
        return out;
    }

    /** Words after normalization and pre-tokenization; added tokens come out whole. */
    List<String> words(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            String hit = null;
            for (String a : addedTokens) {
                if (text.startsWith(a, i)) {
                    hit = a;
                    break;
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            splitWords(normalize(text.substring(start, i)), out);
            out.add(hit);
            i += hit.length();
            start = i;
        }
        splitWords(normalize(text.substring(start)), out);
        return out;
    }

    /** BertNormalizer. */
    String normalize(String text) {
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (cleanText) {
                if (c == 0 || c == 0xFFFD || isControl(c)) {
                    continue;
                }
                if (isWhitespace(c)) {
                    b.append(' ');
                    continue;
                }
            }
            if (chineseChars && isChinese(c)) {
                b.append(' ').appendCodePoint(c).append(' ');
            } else {
                b.appendCodePoint(c);
            }
        }
        String s = b.toString();
        if (stripAccents) {
            String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
            StringBuilder k = new StringBuilder(nfd.length());
            for (int i = 0; i < nfd.length(); ) {
                int c = nfd.codePointAt(i);
                i += Character.charCount(c);
                if (Character.getType(c) != Character.NON_SPACING_MARK) {
                    k.appendCodePoint(c);
                }
            }
            s = k.toString();
        }
        if (lowercase) {
            // Per code point, as the Rust library does (no context-dependent final sigma).
            StringBuilder k = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); ) {
                int c = s.codePointAt(i);
                i += Character.charCount(c);
                if (c < 128) {
                    k.append((char) (c >= 'A' && c <= 'Z' ? c + 32 : c));
                } else {
                    k.append(Character.toString(c).toLowerCase(Locale.ROOT));
                }
            }
            s = k.toString();
        }
        return s;
    }

    /** BertPreTokenizer: white-space split, punctuation isolated. */
    private static void splitWords(String s, List<String> out) {
        int start = -1;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int n = Character.charCount(c);
            if (isWhitespace(c)) {
                if (start >= 0) {
                    out.add(s.substring(start, i));
                    start = -1;
                }
            } else if (isPunctuation(c)) {
                if (start >= 0) {
                    out.add(s.substring(start, i));
                    start = -1;
                }
                out.add(s.substring(i, i + n));
            } else if (start < 0) {
                start = i;
            }
            i += n;
        }
        if (start >= 0) {
            out.add(s.substring(start));
        }
    }

    private void wordPiece(String word, IntArrayList ids) {
        if (word.codePointCount(0, word.length()) > maxCharsPerWord) {
            ids.add(unkId);
            return;
        }
        if (vocab.containsKey(word)) {
            ids.add(vocab.get(word));
            return;
        }
        int mark = ids.size();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            int found = -1;
            while (start < end) {
                String sub = start > 0 ? prefix + word.substring(start, end) : word.substring(start, end);
                if (vocab.containsKey(sub)) {
                    found = vocab.get(sub);
                    break;
                }
                end = Character.isLowSurrogate(word.charAt(end - 1)) && end - 2 >= start ? end - 2 : end - 1;
            }
            if (found < 0) {
                while (ids.size() > mark) {
                    ids.removeAtIndex(ids.size() - 1);
                }
                ids.add(unkId);
                return;
            }
            ids.add(found);
            start = end;
        }
    }

    /** White space as the Rust library sees it: tab, newline, carriage return and Unicode White_Space. */
    static boolean isWhitespace(int c) {
        return switch (c) {
            case '\t', '\n', 0x0B, 0x0C, '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 ->
                    true;
            default -> c >= 0x2000 && c <= 0x200A;
        };
    }

    /** Control characters: categories Cc, Cf, Cn, Co (and surrogates), except tab, newline, carriage return. */
    static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        int t = Character.getType(c);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.UNASSIGNED
                || t == Character.PRIVATE_USE || t == Character.SURROGATE;
    }

    /** ASCII punctuation (which includes symbols such as $ + < = > ^ ` |) or Unicode categories Pc Pd Ps Pe Pi Pf Po. */
    static boolean isPunctuation(int c) {
        if (c < 128) {
            return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
        }
        int t = Character.getType(c);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION
                || t == Character.START_PUNCTUATION || t == Character.END_PUNCTUATION
                || t == Character.INITIAL_QUOTE_PUNCTUATION || t == Character.FINAL_QUOTE_PUNCTUATION
                || t == Character.OTHER_PUNCTUATION;
    }

    /** CJK Unified Ideographs blocks, as in BERT's tokenizer. */
    static boolean isChinese(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F)
                || (c >= 0x2B820 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF)
                || (c >= 0x2F800 && c <= 0x2FA1F);
    }
}
