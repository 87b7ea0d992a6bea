"""The Markdown renderer and splitter: HTML that the validator accepts, cut without any loss."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import Part, render, utf16_len
from tests.doubles.telegram_html import MAX_MESSAGE_UTF16, Entity, parse_html

UNSPLIT = sys.maxsize


def html_of(markdown: str) -> str:
    """The unsplit render's HTML (the whole answer as one message)."""
    parts = render(markdown, UNSPLIT)
    assert len(parts) == 1
    return parts[0].html


def separators(whole: str, texts: list[str]) -> list[str]:
    """The whitespace before each part in the whole text; fails unless parts and gaps tile it."""
    found: list[str] = []
    position = 0
    for index, text in enumerate(texts):
        at = whole.find(text, position)
        assert at >= 0, f"part {index} is not in the rest of the whole text"
        gap = whole[position:at]
        assert gap == "" or gap.isspace(), f"before part {index}, {gap!r} was dropped"
        found.append(gap)
        position = at + len(text)
    assert position == len(whole), f"{whole[position:]!r} was dropped at the end"
    return found


def formatting_by_unit(text: str, entities: list[Entity]) -> list[frozenset[tuple[str, str]]]:
    """For each UTF-16 unit of text, the entities covering it (type with URL or language)."""
    units: list[set[tuple[str, str]]] = [set() for _ in range(utf16_len(text))]
    for entity in entities:
        detail = entity.url or entity.language or ""
        for unit in range(entity.offset, entity.offset + entity.length):
            units[unit].add((entity.type, detail))
    return [frozenset(unit) for unit in units]


def check_parts(markdown: str, limit: int) -> list[Part]:
    """Every guarantee of bot.render's docstring, for one input and one limit."""
    parts = render(markdown, limit)
    whole_parts = render(markdown, UNSPLIT)
    if not whole_parts:
        assert parts == []
        return parts
    assert len(whole_parts) == 1
    whole = whole_parts[0].text
    whole_text, whole_entities = parse_html(whole_parts[0].html)
    assert whole_text == whole
    whole_formatting = formatting_by_unit(whole, whole_entities)

    texts = []
    for part in parts:
        text, entities = parse_html(part.html)
        assert text == part.text
        assert utf16_len(text) <= limit
        assert text.strip(), "an empty or whitespace-only part"
        # Telegram trims a message, except where a code block starts it: nothing for it to trim
        assert not text[-1].isspace()
        assert not text[0].isspace() or any(e.type == "pre" and e.offset == 0 for e in entities)
        texts.append(text)
    gaps = separators(whole, texts)
    assert gaps[0] == "" or whole[0].isspace(), "the first part does not start the answer"
    # each character keeps the formatting it has in the unsplit render
    position = 0
    for index, part in enumerate(parts):
        position += len(gaps[index])
        units_before = utf16_len(whole[:position])
        mine = formatting_by_unit(*parse_html(part.html))
        assert mine == whole_formatting[units_before : units_before + len(mine)], (
            f"part {index} changed the formatting of its text"
        )
        position += len(part.text)
    return parts


# -- rendering, construct by construct ------------------------------------------------------
EXAMPLES = [
    ("**bold** and __bold__", "<b>bold</b> and <b>bold</b>"),
    ("*italic* and _italic_", "<i>italic</i> and <i>italic</i>"),
    ("~~gone~~", "<s>gone</s>"),
    ("`x < y && z`", "<code>x &lt; y &amp;&amp; z</code>"),
    ("# Title\n\ntext", "<b>Title</b>\n\ntext"),
    ("### Small *title*", "<b>Small <i>title</i></b>"),
    ("# **Bold** title", "<b>Bold title</b>"),
    (
        "[site](https://example.com/a?b=1&c=2)",
        '<a href="https://example.com/a?b=1&amp;c=2">site</a>',
    ),
    ('[q](https://x.y/"z")', '<a href="https://x.y/%22z%22">q</a>'),
    ("[me](tg://user?id=42)", '<a href="tg://user?id=42">me</a>'),
    ("<https://t.me/durov>", '<a href="https://t.me/durov">https://t.me/durov</a>'),
    ("<ann@example.com>", '<a href="mailto:ann@example.com">ann@example.com</a>'),
    (
        "[rel](/docs) [bad](javascript:alert(1)) [ftp](ftp://x.y)",
        "rel [bad](javascript:alert(1)) ftp",
    ),
    ("[**bold `code`**](https://x.y)", '<a href="https://x.y"><b>bold code</b></a>'),
    ("**[link](https://x.y)**", '<b><a href="https://x.y">link</a></b>'),
    ("![a cat](https://x.y/cat.png)", '<a href="https://x.y/cat.png">a cat</a>'),
    ("![](https://x.y/cat.png)", '<a href="https://x.y/cat.png">https://x.y/cat.png</a>'),
    ("![local](cat.png)", "local"),
    (
        "```python\nprint('<hi>')\n```",
        "<pre><code class=\"language-python\">print('&lt;hi&gt;')</code></pre>",
    ),
    ("```c++ {.numberLines}\nint x;\n```", '<pre><code class="language-c++">int x;</code></pre>'),
    ("```<script>\nx\n```", '<pre><code class="language-script">x</code></pre>'),
    ("```\nno language\n```", "<pre>no language</pre>"),
    ("```\n\tif x:\n\t\ty()\n```", "<pre>    if x:\n        y()</pre>"),
    ("```\n```", None),
    ("    indented code\n    more", "<pre>indented code\nmore</pre>"),
    ("```js\nunclosed fence", '<pre><code class="language-js">unclosed fence</code></pre>'),
    ("- one\n- two\n  - nested\n- three", "• one\n• two\n   ◦ nested\n• three"),
    ("1. one\n2. two\n   1. sub", "1. one\n2. two\n   1. sub"),
    ("7) seven\n8) eight", "7) seven\n8) eight"),
    ("Intro:\n\n- a\n- b\n\nOutro", "Intro:\n\n• a\n• b\n\nOutro"),
    ("- item\n  continued", "• item\n   continued"),
    ("> quoted\n> still", "<blockquote>quoted\nstill</blockquote>"),
    ("> outer\n>\n> > inner", "<blockquote>outer\n\ninner</blockquote>"),
    ("before\n\n> quote\n\nafter", "before\n\n<blockquote>quote</blockquote>\n\nafter"),
    ("> one\n\n> two", "<blockquote>one</blockquote>\n\n<blockquote>two</blockquote>"),
    (
        "> ```sh\n> ls\n> ```",
        '<blockquote><pre><code class="language-sh">ls</code></pre></blockquote>',
    ),
    (
        "| Name | Qty |\n|:-----|----:|\n| tea | 2 |\n| **cake** | 10 |",
        "<pre>Name | Qty\n-----+----\ntea  |   2\ncake |  10</pre>",
    ),
    ("| 名前 | x |\n|---|---|\n| a | b |", "<pre>名前 | x\n-----+--\na    | b</pre>"),
    ("above\n\n---\n\nbelow", "above\n\n———\n\nbelow"),
    ("line one\nline two", "line one\nline two"),
    ("hard  \nbreak", "hard\nbreak"),
    ("<b>raw</b> & <i>html</i>", "&lt;b&gt;raw&lt;/b&gt; &amp; &lt;i&gt;html&lt;/i&gt;"),
    ("<div>\n*block*\n</div>", "&lt;div&gt;\n<i>block</i>\n&lt;/div&gt;"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("&amp; &lt; &copy; &#128512;", "&amp; &lt; © 😀"),
    ("a > b", "a &gt; b"),
    ("[up](HTTPS://EXAMPLE.COM/A)", '<a href="HTTPS://EXAMPLE.COM/A">up</a>'),
    # what Telegram would do to these characters anyway: controls become spaces, U+2028.. go
    ("a\x01b\u2028c\r\nd\re", "a bc\nd\ne"),
    ("Привет, **мир**! 🚀", "Привет, <b>мир</b>! 🚀"),
    ("**unclosed bold", "**unclosed bold"),
    ("\\*not italic\\*", "*not italic*"),
]


@pytest.mark.parametrize(("markdown", "expected"), EXAMPLES, ids=[e[0][:40] for e in EXAMPLES])
def test_each_construct_renders_to_telegram_html(markdown: str, expected: str | None) -> None:
    parts = render(markdown)
    if expected is None:
        assert parts == []
        return
    assert [part.html for part in parts] == [expected]
    text, _ = parse_html(expected)
    assert parts[0].text == text


@pytest.mark.parametrize("markdown", ["", " ", "\n\n\t  \n", "```\n\n```", "-", "#"])
def test_empty_markdown_renders_to_no_part(markdown: str) -> None:
    assert render(markdown) == []


def test_entities_are_what_the_markdown_means() -> None:
    _, entities = parse_html(html_of("# H\n\n**b** `c` [l](https://x.y)\n\n```py\nz\n```"))
    assert [(entity.type, entity.url, entity.language) for entity in entities] == [
        ("bold", None, None),
        ("bold", None, None),
        ("code", None, None),
        ("text_link", "https://x.y", None),
        ("pre", None, "py"),
    ]


def test_utf16_len_counts_like_telegram() -> None:
    assert utf16_len("Привет 🚀") == 9
    assert utf16_len("👨‍👩‍👧") == 8


def test_a_limit_below_one_character_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        render("text", 1)


# -- splitting -------------------------------------------------------------------------------
def test_short_answer_is_one_part() -> None:
    parts = render("Hello **there**")
    assert parts == [Part("Hello <b>there</b>", "Hello there")]


def test_split_prefers_block_boundaries() -> None:
    paragraphs = [f"Paragraph {n} " + "word " * 20 for n in range(6)]
    parts = check_parts("\n\n".join(paragraphs), 300)
    assert [part.text for part in parts] == [
        "\n\n".join(p.strip() for p in paragraphs[i : i + 2]) for i in range(0, 6, 2)
    ]


def test_list_items_are_block_boundaries() -> None:
    markdown = "\n".join(f"- item {n:02}" for n in range(30))
    parts = check_parts(markdown, 100)
    for part in parts:
        assert part.text.startswith("• item")
        assert all(line.startswith("• item") for line in part.text.split("\n"))


def test_long_paragraph_splits_at_spaces_and_reopens_formatting() -> None:
    markdown = "**" + " ".join(f"w{n}" for n in range(100)) + "**"
    parts = check_parts(markdown, 50)
    assert len(parts) > 5
    for part in parts:
        assert part.html.startswith("<b>")
        assert part.html.endswith("</b>")
        assert not part.text.startswith(" ")


def test_link_cut_in_two_keeps_its_url_in_both_parts() -> None:
    markdown = "[" + "long link text " * 10 + "](https://example.com/x)"
    parts = check_parts(markdown, 60)
    assert len(parts) > 1
    assert all(part.html.startswith('<a href="https://example.com/x">') for part in parts)


def test_long_word_is_cut_anywhere_without_losing_a_character() -> None:
    word = "x" * 130
    parts = check_parts(f"start {word} end", 50)
    assert "".join(part.text for part in parts).replace(" ", "") == f"start{word}end"
    assert all(utf16_len(part.text) <= 50 for part in parts)


def test_cut_never_splits_a_surrogate_pair() -> None:
    parts = check_parts("😀" * 40, 7)
    assert [part.text for part in parts] == ["😀😀😀"] * 13 + ["😀"]


def test_long_code_block_becomes_closed_blocks_with_the_language() -> None:
    code = "\n".join(f"    line_{n} = {n}  # <comment> & more" for n in range(60))
    parts = check_parts(f"Code:\n\n```python\n{code}\n```\n\nDone.", 400)
    code_parts = [part for part in parts if "<pre>" in part.html]
    assert len(code_parts) > 3
    for part in code_parts:
        assert part.html.count('<pre><code class="language-python">') == 1
        assert part.html.endswith("</code></pre>") or part.text.endswith("Done.")
        # the code's own indentation survives a cut at a line break
        assert part.text.split("\n")[-1].startswith("    line_") or part.text.endswith("Done.")
    assert parts[0].text == "Code:"
    assert parts[-1].text.endswith("Done.")


def test_long_quote_is_reopened_in_every_part() -> None:
    markdown = "\n".join(f"> quoted line {n}" for n in range(40))
    parts = check_parts(markdown, 100)
    assert len(parts) > 3
    assert all(part.html.startswith("<blockquote>") for part in parts)
    assert all(part.html.endswith("</blockquote>") for part in parts)


def test_escaping_never_counts_against_the_limit() -> None:
    markdown = "<&>" * 1_000
    parts = check_parts(markdown, MAX_MESSAGE_UTF16)
    assert [utf16_len(part.text) for part in parts] == [3_000]
    assert len(parts[0].html) == 3_000 // 3 * len("&lt;&amp;&gt;")


def test_twelve_thousand_character_answer_arrives_complete_and_in_order() -> None:
    markdown = long_answer()
    assert len(markdown) >= 12_000
    parts = check_parts(markdown, MAX_MESSAGE_UTF16)
    assert len(parts) >= 3
    joined = "\n".join(part.text for part in parts)
    # every section, in order, once
    positions = [joined.index(f"Раздел {n}: section {n}") for n in range(1, 13)]
    assert positions == sorted(positions)
    assert all(joined.count(f"Раздел {n}: section {n}") == 1 for n in range(1, 13))
    for part in parts:
        assert part.html.count("<pre>") == part.html.count("</pre>")
        assert not part.text.startswith("def ")  # code was cut between blocks, not inside
    every_language = "".join(part.html for part in parts)
    assert '<pre><code class="language-python">' in every_language
    assert '<a href="https://example.com/docs/5">' in every_language
    assert all(utf16_len(part.text) > MAX_MESSAGE_UTF16 // 2 for part in parts[:-1])
    # a heading stays with the text it introduces
    assert all(part.text.startswith("Раздел ") for part in parts)


def long_answer() -> str:
    """A long, realistic answer: headings, lists, links, code and non-ASCII text."""
    sections = []
    for n in range(1, 13):
        code = "\n".join(f"def step_{n}_{k}(x):\n    return x * {k}  # шаг {k}" for k in range(8))
        sections.append(
            f"## Раздел {n}: section {n}\n\n"
            f"Объяснение **шага {n}** и _детали_, [документация](https://example.com/docs/{n}). "
            "Emoji 🚀🔥 and `inline_code()` — " + "подробный текст " * 24 + "\n\n"
            "- первый пункт\n- second item with `code`\n  - nested ~~old~~ item\n"
            "1. ordered\n2. list\n\n"
            f"```python\n{code}\n```\n\n"
            "> A quote with **bold** and a line\n> that continues.\n"
        )
    return "\n".join(sections)


def test_every_prefix_of_a_streamed_answer_renders_valid_parts() -> None:
    markdown = long_answer()
    for end in range(0, len(markdown), 613):
        check_parts(markdown[:end], MAX_MESSAGE_UTF16)


# -- properties ------------------------------------------------------------------------------
FRAGMENTS = [
    "```",
    "```python\n",
    "\n```\n",
    "~~~\n",
    "**",
    "__",
    "_",
    "*",
    "~~",
    "`",
    "``",
    "[x](https://example.com/a?b=1&c=2)",
    "[y](javascript:alert(1))",
    "[z](",
    "](https://t.me/",
    "![img](https://x.y/i.png)",
    "<https://t.me/x>",
    "[up](HTTP://X.Y)",
    "<ann@example.com>",
    "<b>",
    "</i>",
    "<script>",
    "<a href='x'>",
    "&",
    "&amp;",
    "&lt;",
    "&#128512;",
    "&nbsp;",
    "# ",
    "## ",
    "\n# ",
    "- ",
    "\n- ",
    "\n  - ",
    "* ",
    "1. ",
    "\n2) ",
    "> ",
    "\n> ",
    "> > ",
    "\n---\n",
    "\n| a | b |\n|---|:-:|\n| 1 | 2 |\n",
    "|",
    "\\",
    "  \n",
    "\n",
    "\n\n",
    "\t",
    "    ",
    " ",
    "😀",
    "👨‍👩‍👧",
    "🇺🇦",
    "Привет",
    "мир",
    "日本語",
    "word",
    "e\u0301",
    "\u00a0",
    "\u200b",
    "\x0b",
    "\r\n",
    "x" * 120,
    "слово " * 30,
    "long line " * 40,
]
markdownish = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown=markdownish, limit=st.sampled_from([2, 7, 50, 200, MAX_MESSAGE_UTF16]))
def test_any_markdown_gives_parts_that_parse_fit_and_restore_the_whole(
    markdown: str, limit: int
) -> None:
    check_parts(markdown, limit)


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(
        st.sampled_from(
            [
                "A paragraph with **bold _nested_ text** and `code`.",
                "```js\n" + "const x = 1; // комментарий\n" * 12 + "```",
                "> " + "quoted words " * 30,
                "- item one\n- item two with [a link](https://x.y)\n  - nested 😀",
                "# Heading ~~struck~~",
                "| a | b |\n|---|---|\n| 1 | 2 |",
                "word " * 150,
            ]
        ),
        min_size=1,
        max_size=25,
    ),
    limit=st.sampled_from([50, 200, 1000]),
)
def test_long_structured_answers_split_cleanly(blocks: list[str], limit: int) -> None:
    parts = check_parts("\n\n".join(blocks), limit)
    for part in parts:
        # a code block always arrives closed and with its language
        assert part.html.count('<pre><code class="language-js">') == part.html.count(
            "</code></pre>"
        )
        assert part.html.count("<pre>") == part.html.count("</pre>")
