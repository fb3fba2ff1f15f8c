package org.nibble.models.bert;

import java.util.List;

/** A varied sentence set for the oracle tests. */
final class Sentences {
    private Sentences() {
    }

    static final String LONG = ("The history of natural language processing generally started in the 1950s, "
            + "although work can be found from earlier periods. In 1950, Alan Turing published an article titled "
            + "'Computing Machinery and Intelligence' which proposed what is now called the Turing test as a "
            + "criterion of intelligence. ").repeat(4);

    static final List<String> ALL = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "",
            "Hi",
            "Café déjà vu: naïve résumé, Ångström & Øresund — São Paulo.",
            "我爱北京天安门。東京は日本の首都です。한국어 문장도 있습니다.",
            "Well... isn't it? (Yes!) [maybe] {no} $100 + 20% = a<b>c #hashtag @user ~tilde `tick` |pipe| ^caret",
            "I love pizza 🍕🍕 and 👍🏽 thumbs up! 😀",
            LONG,
            "tab\tnew\nline\u00A0nbsp\u200Bzero-width\u0007bell\u0000nul\uFFFDrepl",
            "[MASK] tokens [CLS] inside [SEP] text [UNK]",
            "ΟΔΥΣΣΕΥΣ Москва İstanbul ﬁnance Straße",
            "a".repeat(150) + " supercalifragilisticexpialidocious unaffordable",
            "   leading and trailing spaces   ");
}
