"""The HTML validator behind the fake Bot API accepts what Telegram accepts and rejects the rest."""

from __future__ import annotations

import pytest

from tests.doubles.telegram_html import (
    MAX_MESSAGE_UTF16,
    Entity,
    EntityParseError,
    parse_html,
    utf16_len,
)

# (markup, visible text, entities); offsets in UTF-16 code units.
ACCEPTED = [
    ("plain text", "plain text", []),
    ("", "", []),
    ("<b>bold</b> <strong>too</strong>", "bold too", [Entity("bold", 0, 4), Entity("bold", 5, 3)]),
    ("<i>a</i><em>b</em>", "ab", [Entity("italic", 0, 1), Entity("italic", 1, 1)]),
    ("<u>a</u><ins>b</ins>", "ab", [Entity("underline", 0, 1), Entity("underline", 1, 1)]),
    (
        "<s>a</s><strike>b</strike><del>c</del>",
        "abc",
        [Entity("strikethrough", i, 1) for i in range(3)],
    ),
    (
        '<span class="tg-spoiler">a</span><tg-spoiler>b</tg-spoiler>',
        "ab",
        [Entity("spoiler", 0, 1), Entity("spoiler", 1, 1)],
    ),
    ("<span class=tg-spoiler>a</span>", "a", [Entity("spoiler", 0, 1)]),
    (
        '<a href="https://example.com/?a=1&amp;b=2">link</a>',
        "link",
        [Entity("text_link", 0, 4, url="https://example.com/?a=1&b=2")],
    ),
    (
        "<a href='tg://user?id=123456789'>Ann</a>",
        "Ann",
        [Entity("text_link", 0, 3, url="tg://user?id=123456789")],
    ),
    ("<code>x &lt; y</code>", "x < y", [Entity("code", 0, 5)]),
    ("<pre>block</pre>", "block", [Entity("pre", 0, 5)]),
    ("<pre><code>block</code></pre>", "block", [Entity("pre", 0, 5)]),
    (
        '<pre><code class="language-python">print(1)</code></pre>',
        "print(1)",
        [Entity("pre", 0, 8, language="python")],
    ),
    ("<blockquote>q\nr</blockquote>", "q\nr", [Entity("blockquote", 0, 3)]),
    ("<blockquote expandable>q</blockquote>", "q", [Entity("expandable_blockquote", 0, 1)]),
    (
        '<blockquote><pre><code class="language-c">x</code></pre></blockquote>',
        "x",
        [Entity("blockquote", 0, 1), Entity("pre", 0, 1, language="c")],
    ),
    (
        '<b>bold <i>both <a href="http://t.me">link</a></i></b>',
        "bold both link",
        [
            Entity("bold", 0, 14),
            Entity("italic", 5, 9),
            Entity("text_link", 10, 4, url="http://t.me"),
        ],
    ),
    ("<b>bold <code>code</code></b>", "bold code", [Entity("bold", 0, 9), Entity("code", 5, 4)]),
    (
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "👍",
        [Entity("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286")],
    ),
    ("&lt;&gt;&amp;&quot;", '<>&"', []),
    ("&#65;&#x42;&#x1F600;", "AB😀", []),
    ("😀<b>x</b>", "😀x", [Entity("bold", 2, 1)]),
    ("Привет, <i>мир</i>", "Привет, мир", [Entity("italic", 8, 3)]),
    ("<b></b>empty elements make no entity", "empty elements make no entity", []),
    ("<b >spaces</b >", "spaces", [Entity("bold", 0, 6)]),
    ("<a\nhref = 'mailto:a@b.c' >m</a>", "m", [Entity("text_link", 0, 1, url="mailto:a@b.c")]),
    ("line\nbreaks\tand tabs", "line\nbreaks\tand tabs", []),
]

# (markup, words in Telegram's reason or in ours where we are stricter than Telegram)
REJECTED = [
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("<br>", 'Unsupported start tag "br" at byte offset 0'),
    ("<p>x</p>", 'Unsupported start tag "p"'),
    ("<script>x</script>", 'Unsupported start tag "script"'),
    ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
    ("<b", "Unclosed start tag"),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
    ("<i>a</i   x>", "Unclosed end tag"),
    ("<i   =aba>", 'Empty attribute name in the tag "i"'),
    ('<a href="https://x.y">x', "Can't find end tag"),
    ('<a href="https://x.y>x</a>', "must be escaped"),
    ('<a href="https://x.y', "Unclosed start tag"),
    ("<a href=https://x.y>x</a>", "Unexpected end of name token"),
    ("<a href>x</a>", "Expected equal sign"),
    # stricter than Telegram, which would keep these as text or drop the formatting
    ("a > b", 'Character ">" must be escaped'),
    ("a & b", 'Character "&" must be escaped'),
    ("&nbsp;", 'Character "&" must be escaped'),
    ("&lt", 'Character "&" must be escaped'),
    ("&#X41;", 'Character "&" must be escaped'),
    ("&#xD800;", "unmatched surrogate code units"),
    ("&#0;", "Invalid character reference"),
    ("&#x110000;", "Invalid character reference"),
    ("<B>x</B>", "lower case"),
    ("<b>x</>", 'found "</>"'),
    ("<a>x</a>", 'Tag "a" needs'),
    ('<a href="">x</a>', 'Tag "a" needs'),
    ('<a href="javascript:alert(1)">x</a>', 'Tag "a" needs'),
    ('<a href="/relative">x</a>', 'Tag "a" needs'),
    ('<a href="https://x.y/?a=1&b=2">x</a>', 'Character "&" must be escaped'),
    ('<b class="x">y</b>', 'Unsupported attribute "class" in the tag "b"'),
    ('<a href="https://x.y" title="t">x</a>', 'Unsupported attribute "title"'),
    ('<a href="https://x.y" href="https://z.y">x</a>', "Repeated attribute"),
    ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
    ("<span>y</span>", 'Tag "span" must have class "tg-spoiler"'),
    ("<tg-emoji>y</tg-emoji>", '"emoji-id"'),
    ('<code class="language-py">x</code>', 'Only a "code" directly inside "pre"'),
    ('<pre><code class="python">x</code></pre>', '"language-<name>"'),
    ('<pre><code class="language-">x</code></pre>', '"language-<name>"'),
    ("<code><b>x</b></code>", 'Tag "b" can\'t be nested inside "code"'),
    ("<pre><i>x</i></pre>", 'Tag "i" can\'t be nested inside "pre"'),
    ("<pre>a<code>b</code></pre>", 'Tag "code" must be the only content of "pre"'),
    ("<pre><code>b</code>c</pre>", 'Text after the "code" element'),
    ("<pre><code>a</code><code>b</code></pre>", 'Tag "code" must be the only content'),
    ("<b><pre>x</pre></b>", 'Tag "pre" can\'t be nested inside "b"'),
    ("<blockquote><blockquote>x</blockquote></blockquote>", 'Tag "blockquote" can\'t be nested'),
    ("<b><blockquote>x</blockquote></b>", 'Tag "blockquote" can\'t be nested inside "b"'),
    ('<a href="https://a.b"><a href="https://c.d">x</a></a>', 'can\'t be nested inside "a"'),
    ('<a href="https://a.b"><code>x</code></a>', 'Tag "code" can\'t be nested inside "a"'),
    ("<b/>", 'Unsupported start tag "b/"'),
    ("\ud800", "UTF-8"),
]


@pytest.mark.parametrize(("markup", "text", "entities"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_markup_gives_telegram_text_and_entities(
    markup: str, text: str, entities: list[Entity]
) -> None:
    assert parse_html(markup) == (text, entities)


@pytest.mark.parametrize(("markup", "reason"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_markup_raises_like_telegram(markup: str, reason: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(markup)
    assert str(caught.value).startswith("can't parse entities: ")
    assert reason in str(caught.value)


def test_byte_offsets_count_utf8_bytes_like_telegram() -> None:
    with pytest.raises(EntityParseError, match="at byte offset 13"):
        parse_html("🏟 🏟&lt;<abac aba>")


def test_utf16_length_counts_surrogate_pairs() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("Привет") == 6
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b👨‍👩‍👧") == 2 + 2 + 2 + 1 + 2 + 1 + 2
    assert MAX_MESSAGE_UTF16 == 4096


def test_entities_are_ordered_outer_first_at_the_same_offset() -> None:
    _, entities = parse_html("<i><b>x</b>y</i><u><s>z</s></u>")
    assert [(entity.type, entity.offset, entity.length) for entity in entities] == [
        ("italic", 0, 2),
        ("bold", 0, 1),
        ("underline", 2, 1),
        ("strikethrough", 2, 1),
    ]


def test_long_markup_parses_in_linear_time() -> None:
    markup = "<b>x</b> &amp; " * 2_000
    text, entities = parse_html(markup)
    assert len(entities) == 2_000
    assert text == "x & " * 2_000
