"""The model's Markdown as Telegram HTML, split into messages that Telegram accepts.

Rendering
---------
The Markdown (CommonMark, GFM strikethrough and tables) is parsed with markdown-it-py and its
token stream is walked once. Headings become a bold line; bold, italic, strikethrough, inline
code and links keep their meaning (a link becomes ``<a>`` only for http(s)://, tg:// and
mailto: URLs, otherwise its text stays as plain text; an image becomes a link with its alt text).
A code block becomes ``<pre><code class="language-x">`` (the language reduced to
``[A-Za-z0-9_+-]``), lists get ``•``/``1.`` markers indented by nesting, a quote becomes
``<blockquote>`` (nested quotes are flattened: Telegram does not nest them), a table becomes
aligned plain text in ``<pre>``, a thematic break a line of ``———``. Raw HTML in the Markdown
is text: ``<``, ``>`` and ``&`` are always escaped (and ``"`` in attributes), never passed
through. Single line breaks are kept, as chat users expect.

Splitting
---------
The answer is rendered once, as a document: its visible text ``T`` and the formatting of each
character (the stack of elements it sits in). A part is a slice ``T[a:b]`` serialised with the
formatting of its characters: elements open at a cut are closed at the end of the part and
reopened at the start of the next, so every part is well-formed on its own, a long code block
becomes several closed ``<pre>`` blocks with the same language, and a cut never falls inside a
tag or an entity. A cut goes, in this order of preference, at the last block boundary that fits
(between paragraphs, list items, quotes, code blocks...), else the last line break, else the last
space, else anywhere (between code points, so never inside a surrogate pair).

The guarantee, for ``parts = render(md, limit)`` and the unsplit ``T`` (the ``text`` of the
single part of ``render(md, sys.maxsize)``):

- ``T == s0 + parts[0].text + s1 + parts[1].text + ... + s(n-1) + parts[-1].text`` where each
  separator ``s_i`` consists of whitespace only: the paragraph break, line break or spaces
  dropped at the cut, or nothing when a word or a code line had to be cut (``s0`` is empty but
  where a code block opens the answer with more blank space than the limit). Nothing else is
  dropped, nothing is repeated, the order is kept;
- every character keeps its formatting (its entities' types, URLs and languages are those it has
  in the unsplit render);
- ``utf16_len(part.text) <= limit``, ``part.text`` is not empty and neither starts nor ends with
  whitespace (Telegram trims messages), except that a part may start with a code block's own
  indentation;
- ``part.text`` is exactly the visible text Telegram's HTML parser gives for ``part.html``.

Empty or whitespace-only Markdown renders to no part at all.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

TELEGRAM_MESSAGE_LIMIT = 4096

# Without the html option, raw HTML in the Markdown stays text (and is escaped like any text).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("strikethrough").enable("table")
_LINKABLE = re.compile(
    r"(?:https?://[^\s/?#]+|tg://[A-Za-z0-9_-]+|mailto:[^\s@]+@[^\s@]+)\S*", re.IGNORECASE
)
_NOT_LANGUAGE = re.compile(r"[^A-Za-z0-9_+-]")
_NON_BMP = re.compile("[\U00010000-\U0010ffff]")
# What Telegram does to a message's characters anyway (control characters become spaces,
# U+2028..U+202E disappear), done before rendering so that what we count is what it shows.
_TELEGRAM_CLEANUP = {
    **{code: " " for code in [*range(0, 9), 11, 12, *range(14, 32)]},
    **{code: None for code in range(0x2028, 0x202F)},
}
_TAB_WIDTH = 4
_INDENT = "   "
_BULLETS = ("•", "◦", "▪")
_RULE = "———"
_BREAKABLE_SPACES = (" ", "\t")

# An element a character sits in: (tag, argument), e.g. ("b", ""), ("a", url), ("pre", language).
Style = tuple[str, str]
Formatting = tuple[Style, ...]
_CODE: Style = ("code", "")


@dataclass(frozen=True)
class Part:
    """One message: its Telegram HTML and the visible text Telegram will show for it."""

    html: str
    text: str


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, as Telegram counts message length."""
    return len(text) + len(_NON_BMP.findall(text))


def render(markdown: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[Part]:
    """The Markdown as Telegram HTML parts, each at most `limit` UTF-16 units of visible text."""
    if limit < 2:
        raise ValueError("limit must allow at least one character (2 UTF-16 code units)")
    markdown = markdown.replace("\r\n", "\n").replace("\r", "\n").translate(_TELEGRAM_CLEANUP)
    document = _Builder().build(_MARKDOWN.parse(markdown))
    return document.split(limit)


def _opening(style: Style) -> str:
    tag, argument = style
    if tag == "a":
        return f'<a href="{html.escape(argument)}">'
    if tag == "pre":
        return f'<pre><code class="language-{argument}">' if argument else "<pre>"
    return f"<{tag}>"  # the argument of a quote only tells quotes apart


def _closing(style: Style) -> str:
    tag, argument = style
    if tag == "pre":
        return "</code></pre>" if argument else "</pre>"
    return f"</{tag}>"


@dataclass
class _Document:
    """The rendered answer: visible text, formatting runs and where it may be cut."""

    text: str
    run_starts: list[int]  # run i covers text[run_starts[i]:run_starts[i + 1]]
    run_formats: list[Formatting]
    block_breaks: list[int]  # indexes of the whitespace that separates two blocks
    pre_starts: list[int]
    pre_ends: list[int]
    non_bmp: list[int]  # indexes of characters outside the BMP (two UTF-16 units each)

    def split(self, limit: int) -> list[Part]:
        """Cut the document into parts of at most `limit` UTF-16 units (see the module doc)."""
        text = self.text
        end = len(text.rstrip())
        start = self.skip_space(0, end)
        if start >= end:
            return []
        parts: list[Part] = []
        while start < end:
            furthest = self.furthest(start, end, limit)
            if furthest >= end:
                part_end = next_start = end
            else:
                part_end, next_start = self.cut(start, furthest)
            part_end = start + len(text[start:part_end].rstrip())
            if part_end > start:
                parts.append(Part(self.html(start, part_end), text[start:part_end]))
            start = self.skip_space(next_start, end)
        return parts

    def in_pre(self, index: int) -> bool:
        at = bisect_right(self.pre_starts, index) - 1
        return at >= 0 and index < self.pre_ends[at]

    def skip_space(self, index: int, end: int) -> int:
        """The first index from `index` that is not whitespace, keeping a code block's own."""
        text = self.text
        while index < end and text[index].isspace() and not self.in_pre(index):
            index += 1
        return index

    def furthest(self, start: int, end: int, limit: int) -> int:
        """The largest b <= end with utf16_len(text[start:b]) <= limit."""
        stop = min(end, start + limit)
        if not self.non_bmp:
            return stop

        def units(index: int) -> int:
            return index + bisect_left(self.non_bmp, index)

        low, high, budget = start, stop, units(start) + limit
        while low < high:
            middle = (low + high + 1) // 2
            if units(middle) <= budget:
                low = middle
            else:
                high = middle - 1
        return low

    def cut(self, start: int, furthest: int) -> tuple[int, int]:
        """Where the part from `start` ends and the next begins, given what fits (`furthest`)."""
        text = self.text
        at = bisect_right(self.block_breaks, furthest) - 1
        if at >= 0 and self.block_breaks[at] > start:
            position = self.block_breaks[at]
            return position, position + 1
        position = text.rfind("\n", start + 1, furthest + 1)
        if position < 0:
            position = max(
                text.rfind(space, start + 1, furthest + 1) for space in _BREAKABLE_SPACES
            )
        if position < 0:
            return furthest, furthest
        return position, position + 1

    def html(self, start: int, end: int) -> str:
        """text[start:end] as Telegram HTML, every element closed at the end."""
        text, starts, formats = self.text, self.run_starts, self.run_formats
        out: list[str] = []
        current: Formatting = ()
        index = bisect_right(starts, start) - 1
        while index < len(starts) and starts[index] < end:
            run_end = starts[index + 1] if index + 1 < len(starts) else len(text)
            piece = text[max(start, starts[index]) : min(end, run_end)]
            index += 1
            if not piece:
                continue
            formatting = formats[index - 1]
            if formatting != current:
                _transition(out, current, formatting)
                current = formatting
            out.append(html.escape(piece, quote=False))
        _transition(out, current, ())
        return "".join(out)


def _transition(out: list[str], current: Formatting, wanted: Formatting) -> None:
    """Close the elements of `current` that `wanted` does not share, open the rest of `wanted`."""
    common = 0
    for have, want in zip(current, wanted, strict=False):
        if have != want:
            break
        common += 1
    out.extend(_closing(style) for style in reversed(current[common:]))
    out.extend(_opening(style) for style in wanted[common:])


@dataclass
class _List:
    ordered: bool
    identity: int


@dataclass
class _Item:
    marker: str  # written before the item's first content, then cleared
    depth: int


class _Builder:
    """Walks markdown-it's tokens once, writing visible text and formatting runs."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.length = 0
        self.run_starts: list[int] = []
        self.run_formats: list[Formatting] = []
        self.block_breaks: list[int] = []
        self.pre_starts: list[int] = []
        self.pre_ends: list[int] = []
        self.quote_depth = 0
        self.quotes_opened = 0
        # The open quote, if any, that blocks sit in; nested quotes are flattened into it. Its
        # argument tells two quotes apart, so that consecutive ones stay two elements.
        self.block_style: Formatting = ()
        self.lists: list[_List] = []
        self.items: list[_Item] = []
        self.lists_opened = 0
        self.inline: list[Style | None] = []  # None: a markup pair that adds no element
        self.pending: bool | None = None  # a block has begun: indent its first line?
        self.previous_block: tuple[Formatting, int | None] | None = None
        self.blocks_started = 0
        self.heading_at = -1  # blocks_started when the open heading began
        self.after_heading = False  # a heading stays with what follows: no block break after it

    # -- output ---------------------------------------------------------------------------
    @property
    def in_link(self) -> bool:
        return any(style is not None and style[0] == "a" for style in self.inline)

    def formatting(self) -> Formatting:
        return self.block_style + tuple(style for style in self.inline if style is not None)

    def write(self, text: str, formatting: Formatting) -> None:
        """Append visible text with its formatting, starting the pending block first."""
        if not text:
            return
        if self.pending is not None:
            self.start_block()
        self.raw_write(text, formatting)

    def raw_write(self, text: str, formatting: Formatting) -> None:
        if not self.run_formats or self.run_formats[-1] != formatting:
            self.run_starts.append(self.length)
            self.run_formats.append(formatting)
        self.chunks.append(text)
        self.length += len(text)

    def begin_block(self, *, indent: bool = True) -> None:
        """A block begins; its separator and list marker are written with its first text."""
        self.pending = indent

    def start_block(self) -> None:
        indent, self.pending = self.pending, None
        block_style = self.block_style
        outer_list = self.lists[0].identity if self.lists else None
        if self.previous_block is not None:
            previous_style, previous_list = self.previous_block
            same_list = outer_list is not None and outer_list == previous_list
            if not self.after_heading:
                self.block_breaks.append(self.length)
            shared = block_style if previous_style == block_style else ()
            self.raw_write("\n" if same_list else "\n\n", shared)
        self.previous_block = (block_style, outer_list)
        self.after_heading = False
        self.blocks_started += 1
        markers = [item for item in self.items if item.marker]
        if markers:
            prefix = _INDENT * (markers[0].depth - 1) + "".join(item.marker for item in markers)
            for item in markers:
                item.marker = ""
            self.raw_write(prefix, block_style)
        elif indent and self.items:
            self.raw_write(_INDENT * self.items[-1].depth, block_style)

    def line_break(self) -> None:
        indent = _INDENT * self.items[-1].depth if self.items else ""
        self.write("\n" + indent, self.formatting())

    def code_block(self, content: str, language: str) -> None:
        # Telegram turns a tab into one space, which would flatten indentation.
        content = content.removesuffix("\n").expandtabs(_TAB_WIDTH)
        if not content:
            return
        self.begin_block(indent=False)
        self.start_block()
        self.pre_starts.append(self.length)
        self.raw_write(content, (*self.block_style, ("pre", language)))
        self.pre_ends.append(self.length)

    # -- the token walk -------------------------------------------------------------------
    def build(self, tokens: Sequence[Token]) -> _Document:
        """Render the block tokens into a document."""
        index = 0
        while index < len(tokens):
            index = self.block(tokens, index)
        text = "".join(self.chunks)
        return _Document(
            text,
            self.run_starts,
            self.run_formats,
            self.block_breaks,
            self.pre_starts,
            self.pre_ends,
            [match.start() for match in _NON_BMP.finditer(text)],
        )

    def block(self, tokens: Sequence[Token], index: int) -> int:
        """Render the block token at `index`; returns the index of the next one to render."""
        token = tokens[index]
        kind = token.type
        if kind in {"paragraph_open", "heading_open"}:
            self.begin_block()
            if kind == "heading_open":
                self.inline.append(("b", ""))
                self.heading_at = self.blocks_started
        elif kind == "heading_close":
            self.inline.pop()
            self.after_heading = self.blocks_started > self.heading_at
        elif kind == "inline":
            self.inlines(token.children or [])
        elif kind in {"fence", "code_block"}:
            word = token.info.split(maxsplit=1)[0] if token.info.strip() else ""
            self.code_block(token.content, _NOT_LANGUAGE.sub("", word)[:32])
        elif kind == "blockquote_open":
            self.quote_depth += 1
            if self.quote_depth == 1:
                self.quotes_opened += 1
                self.block_style = (("blockquote", str(self.quotes_opened)),)
        elif kind == "blockquote_close":
            self.quote_depth -= 1
            if self.quote_depth == 0:
                self.block_style = ()
        elif kind in {"bullet_list_open", "ordered_list_open"}:
            self.lists.append(_List(kind == "ordered_list_open", self.lists_opened))
            self.lists_opened += 1
        elif kind in {"bullet_list_close", "ordered_list_close"}:
            self.lists.pop()
        elif kind == "list_item_open":
            depth = len(self.lists)
            if self.lists[-1].ordered:
                marker = f"{token.info}{token.markup} "
            else:
                marker = _BULLETS[(depth - 1) % len(_BULLETS)] + " "
            self.items.append(_Item(marker, depth))
        elif kind == "list_item_close":
            self.items.pop()
        elif kind == "hr":
            self.begin_block()
            self.write(_RULE, self.block_style)
        elif kind == "table_open":
            return self.table(tokens, index)
        return index + 1

    def inlines(self, children: Sequence[Token]) -> None:
        for token in children:
            kind = token.type
            if kind == "text":
                self.write(token.content, self.formatting())
            elif kind in {"softbreak", "hardbreak"}:
                self.line_break()
            elif kind == "code_inline":
                formatting = self.formatting()
                self.write(token.content, formatting if self.in_link else (*formatting, _CODE))
            elif kind in {"strong_open", "em_open", "s_open"}:
                style: Style = ({"strong_open": "b", "em_open": "i"}.get(kind, "s"), "")
                self.inline.append(None if style in self.inline else style)
            elif kind == "link_open":
                self.inline.append(self.link(str(token.attrGet("href") or "")))
            elif kind in {"strong_close", "em_close", "s_close", "link_close"}:
                self.inline.pop()
            elif kind == "image":
                alt = _plain(token.children or [])
                link = self.link(str(token.attrGet("src") or ""))
                formatting = self.formatting()
                self.write(
                    alt or (link[1] if link else ""), (*formatting, link) if link else formatting
                )
            elif token.content:
                self.write(token.content, self.formatting())

    def link(self, url: str) -> Style | None:
        """The link element for url, or None where Telegram could not take it."""
        if not _LINKABLE.fullmatch(url) or self.in_link:
            return None
        return ("a", url)

    def table(self, tokens: Sequence[Token], index: int) -> int:
        """Render the table starting at `index` as aligned text; returns the index after it."""
        rows: list[list[str]] = []
        aligns: list[str] = []  # from the header row, which GFM tables always have
        while tokens[index].type != "table_close":
            token = tokens[index]
            if token.type == "tr_open":
                rows.append([])
            elif token.type == "th_open":
                aligns.append(str(token.attrGet("style") or "").removeprefix("text-align:"))
            elif token.type == "inline":
                rows[-1].append(_plain(token.children or []))
            index += 1
        self.code_block(_table_text(rows, aligns), "")
        return index + 1


def _plain(children: Sequence[Token]) -> str:
    """Inline tokens as plain text (for table cells and image descriptions)."""
    out: list[str] = []
    for token in children:
        if token.type in {"softbreak", "hardbreak"}:
            out.append(" ")
        elif token.type == "image":
            out.append(_plain(token.children or []))
        else:
            out.append(token.content)
    return "".join(out)


def _width(text: str) -> int:
    """Columns text takes in a monospaced font: wide (CJK, emoji) count two, combining none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def _table_text(rows: list[list[str]], aligns: list[str]) -> str:
    """The table as aligned columns, its header row underlined."""
    columns = max(len(row) for row in rows)
    rows = [row + [""] * (columns - len(row)) for row in rows]
    aligns = (aligns + [""] * columns)[:columns]
    widths = [max(_width(row[column]) for row in rows) for column in range(columns)]

    def cell(text: str, column: int) -> str:
        gap = widths[column] - _width(text)
        if aligns[column] == "right":
            return " " * gap + text
        if aligns[column] == "center":
            return " " * (gap // 2) + text + " " * (gap - gap // 2)
        return text + " " * gap

    lines = [" | ".join(cell(text, column) for column, text in enumerate(row)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
