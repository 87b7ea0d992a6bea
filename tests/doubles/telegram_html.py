"""Telegram's HTML parse_mode as a validator: what the Bot API accepts, and what it makes of it.

``parse_html(html)`` returns the visible text and the entities Telegram derives from a message
sent with ``parse_mode=HTML``, or raises ``EntityParseError`` (``str(e)`` reads like Telegram's
``can't parse entities: <reason>``; the fake Bot API prefixes ``Bad Request: ``).

It follows TDLib's parser (the one behind the Bot API: tags and attributes are scanned the same
way, error reasons use Telegram's wording and UTF-8 byte offsets), restricted to the syntax the
Bot API documents (https://core.telegram.org/bots/api#html-style). Where Telegram is lenient
about something undocumented, or silently drops formatting, this validator rejects instead, so
that whatever it accepts Telegram accepts and renders as intended:

- a bare ``>`` and an ``&`` that does not start a supported entity (Telegram keeps both as text);
  entities need their ``;`` (``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` ``&#NN;`` ``&#xHH;``);
- tag and attribute names in lower case; only the documented attributes (``a href``,
  ``code class="language-…"`` directly inside ``pre``, ``span class="tg-spoiler"``,
  ``tg-emoji emoji-id``, ``blockquote expandable``), each at most once;
- ``<a>`` needs a non-empty ``http(s)://``, ``tg://`` or ``mailto:`` href (Telegram would take
  the text as the URL, or drop the link);
- the empty end tag ``</>``;
- nesting Telegram would undo: nothing inside ``code``/``pre`` (except the one ``code`` that
  spans a whole ``pre`` to give its language), no ``a``/``code`` inside ``a``, ``pre`` only at
  the top level or directly inside ``blockquote``, ``blockquote`` only at the top level.

Not modelled: what Telegram does after parsing (trimming surrounding whitespace, removing
control characters); callers that care check ``text.strip()`` themselves. Offsets and lengths
of entities are in UTF-16 code units, as in the Bot API; empty elements yield no entity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_MESSAGE_UTF16 = 4096

_SPACES = " \t\r\n\f\v"
_SPECIAL = re.compile(r"[<>&]")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.-]*")
_LINK = re.compile(
    r"(?:https?://[^\s/?#]+|tg://[A-Za-z0-9_-]+|mailto:[^\s@]+@[^\s@]+)\S*", re.IGNORECASE
)
_EMOJI_ID = re.compile(r"[0-9]+")

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
# Attributes each tag may carry (values checked when the tag is opened).
_ATTRIBUTES = {
    "a": {"href"},
    "code": {"class"},
    "span": {"class"},
    "tg-emoji": {"emoji-id"},
    "blockquote": {"expandable"},
}
# Tags that hold plain text only: formatting inside them is dropped by Telegram.
_LEAVES = {"code", "pre", "tg-emoji"}


class EntityParseError(ValueError):
    """Telegram's "can't parse entities" rejection of a message's markup."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"can't parse entities: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Entity:
    """One MessageEntity as the Bot API reports it (offsets in UTF-16 code units)."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None


@dataclass
class _Open:
    """A start tag waiting for its end tag."""

    name: str
    attributes: dict[str, str]
    offset: int  # UTF-16 offset of the element's text
    order: int  # position among start tags, to order entities like Telegram (outer first)
    children: int = 0
    code_child: tuple[int, int] | None = field(default=None)  # (offset, end) of a pre's code


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, as Telegram counts message length and offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_html(html: str) -> tuple[str, list[Entity]]:
    """The visible text and entities of an HTML parse_mode message; EntityParseError if rejected."""
    return _Parser(html).run()


class _Parser:
    """One pass over the markup, like TDLib's parse_html, with the stricter checks above."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.out: list[str] = []
        self.offset = 0  # UTF-16 length of the text so far
        self.stack: list[_Open] = []
        self.entities: list[tuple[int, Entity]] = []
        self.opened = 0

    def at(self, index: int) -> str:
        """Telegram's way of saying where: the UTF-8 byte offset (computed on errors only)."""
        return f"at byte offset {len(self.html[:index].encode('utf-8'))}"

    def append(self, text: str) -> None:
        if text:
            top = self.stack[-1] if self.stack else None
            if top is not None and top.name == "pre" and top.code_child is not None:
                raise EntityParseError('Text after the "code" element of a "pre" element')
            self.out.append(text)
            self.offset += utf16_len(text)

    def run(self) -> tuple[str, list[Entity]]:
        html = self.html
        if any(0xD800 <= ord(char) <= 0xDFFF for char in html):
            raise EntityParseError("Strings must be encoded in UTF-8")
        pos = 0
        while True:
            match = _SPECIAL.search(html, pos)
            if match is None:
                self.append(html[pos:])
                break
            self.append(html[pos : match.start()])
            char, begin = match.group(), match.start()
            if char == "&":
                decoded, pos = self.entity(begin)
                self.append(decoded)
            elif char == ">":
                raise EntityParseError(f'Character ">" must be escaped as &gt; {self.at(begin)}')
            elif html.startswith("</", begin):
                pos = self.end_tag(begin)
            else:
                pos = self.start_tag(begin)
        if self.stack:
            name = self.stack[-1].name
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda item: (item[1].offset, -item[1].length, item[0]))
        return "".join(self.out), [entity for _, entity in self.entities]

    def entity(self, begin: int) -> tuple[str, int]:
        """Decode the character reference at `begin`; returns it and the index after it."""
        match = _ENTITY.match(self.html, begin)
        if match is None:
            raise EntityParseError(f'Character "&" must be escaped as &amp; {self.at(begin)}')
        name, decimal, hexadecimal = match.groups()
        if name:
            return _NAMED[name], match.end()
        code = int(decimal, 10) if decimal else int(hexadecimal, 16)
        if 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        if code == 0 or code >= 0x10FFFF:
            raise EntityParseError(f"Invalid character reference {self.at(begin)}")
        return chr(code), match.end()

    def start_tag(self, begin: int) -> int:
        """Parse the start tag at `begin` with its attributes; returns the index after it."""
        html, size = self.html, len(self.html)
        i = begin + 1
        while i < size and html[i] not in _SPACES and html[i] != ">":
            i += 1
        if i >= size:
            raise EntityParseError(f"Unclosed start tag {self.at(begin)}")
        name = html[begin + 1 : i]
        if name not in _ENTITY_TYPES:
            if name.lower() in _ENTITY_TYPES:
                raise EntityParseError(f'Tag names must be lower case: "{name}" {self.at(begin)}')
            raise EntityParseError(f'Unsupported start tag "{name.lower()}" {self.at(begin)}')
        attributes: dict[str, str] = {}
        while True:
            while i < size and html[i] in _SPACES:
                i += 1
            if i >= size:
                raise EntityParseError(f"Unclosed start tag {self.at(begin)}")
            if html[i] == ">":
                break
            attribute_begin = i
            while i < size and html[i] not in _SPACES and html[i] not in "=>":
                i += 1
            attribute = html[attribute_begin:i]
            if not attribute:
                raise EntityParseError(f'Empty attribute name in the tag "{name}" {self.at(begin)}')
            if attribute not in _ATTRIBUTES.get(name, ()):
                raise EntityParseError(
                    f'Unsupported attribute "{attribute}" in the tag "{name}" {self.at(begin)}'
                )
            if attribute in attributes:
                raise EntityParseError(
                    f'Repeated attribute "{attribute}" in the tag "{name}" {self.at(begin)}'
                )
            while i < size and html[i] in _SPACES:
                i += 1
            if i >= size or html[i] != "=":
                if name == "blockquote" and attribute == "expandable":
                    attributes[attribute] = ""
                    continue
                raise EntityParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{name}" {self.at(begin)}'
                )
            i += 1
            while i < size and html[i] in _SPACES:
                i += 1
            if i >= size:
                raise EntityParseError(f'Unclosed start tag "{name}" {self.at(begin)}')
            attributes[attribute], i = self.attribute_value(i, begin)
        self.open(name, attributes, begin)
        return i + 1

    def attribute_value(self, i: int, begin: int) -> tuple[str, int]:
        """Parse a quoted string or a name token at i; returns the value and the index after it."""
        html, size = self.html, len(self.html)
        quote = html[i]
        if quote not in "'\"":
            token = _NAME_TOKEN.match(html, i)
            end = token.end() if token else i
            if end >= size or (html[end] not in _SPACES and html[end] != ">"):
                raise EntityParseError(f"Unexpected end of name token {self.at(i)}")
            return html[i:end].lower(), end
        value: list[str] = []
        j = i + 1
        while j < size and html[j] != quote:
            char = html[j]
            if char == "&":
                decoded, j = self.entity(j)
                value.append(decoded)
                continue
            if char in "<>":
                raise EntityParseError(
                    f'Character "{char}" in an attribute value must be escaped {self.at(j)}'
                )
            value.append(char)
            j += 1
        if j >= size:
            raise EntityParseError(f"Unclosed start tag {self.at(begin)}")
        return "".join(value), j + 1

    def open(self, name: str, attributes: dict[str, str], begin: int) -> None:
        """Check the tag's attributes and its place among the open tags, then push it."""
        parent = self.stack[-1] if self.stack else None
        ancestors = {frame.name for frame in self.stack}
        code_of_pre = name == "code" and parent is not None and parent.name == "pre"
        problem = None
        if code_of_pre:
            if parent is not None and (parent.children or parent.offset != self.offset):
                problem = 'Tag "code" must be the only content of "pre"'
        elif ancestors & _LEAVES:
            leaf = next(frame.name for frame in self.stack if frame.name in _LEAVES)
            problem = f'Tag "{name}" can\'t be nested inside "{leaf}"'
        if problem is None:
            problem = self.misplaced(name, attributes, parent, ancestors, code_of_pre)
        if problem is not None:
            raise EntityParseError(f"{problem} {self.at(begin)}")
        if parent is not None:
            parent.children += 1
        self.stack.append(_Open(name, attributes, self.offset, self.opened))
        self.opened += 1

    @staticmethod
    def misplaced(
        name: str,
        attributes: dict[str, str],
        parent: _Open | None,
        ancestors: set[str],
        code_of_pre: bool,
    ) -> str | None:
        """Why this start tag is not allowed here (nesting or attribute values), if it is not."""
        if name == "blockquote" and parent is not None:
            return f'Tag "blockquote" can\'t be nested inside "{parent.name}"'
        if name == "pre" and parent is not None and parent.name != "blockquote":
            return f'Tag "pre" can\'t be nested inside "{parent.name}"'
        if name in {"a", "code"} and "a" in ancestors:
            return f'Tag "{name}" can\'t be nested inside "a"'
        if name == "a" and not _LINK.fullmatch(attributes.get("href", "")):
            return 'Tag "a" needs an http(s)://, tg:// or mailto: href'
        if name == "span" and attributes.get("class") != "tg-spoiler":
            return 'Tag "span" must have class "tg-spoiler"'
        if name == "tg-emoji" and not _EMOJI_ID.fullmatch(attributes.get("emoji-id", "")):
            return 'Tag "tg-emoji" must have a numeric "emoji-id"'
        if name == "code" and "class" in attributes:
            language = attributes["class"].removeprefix("language-")
            if not code_of_pre or language == attributes["class"] or not language.strip():
                return 'Only a "code" directly inside "pre" may have a class, "language-<name>"'
        return None

    def end_tag(self, begin: int) -> int:
        """Parse the end tag at `begin`, close its element; returns the index after it."""
        html, size = self.html, len(self.html)
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag {self.at(begin)}")
        i = begin + 2
        while i < size and html[i] not in _SPACES and html[i] != ">":
            i += 1
        name = html[begin + 2 : i]
        while i < size and html[i] in _SPACES:
            i += 1
        if i >= size or html[i] != ">":
            raise EntityParseError(f"Unclosed end tag {self.at(begin)}")
        frame = self.stack[-1]
        if name != frame.name:
            raise EntityParseError(
                f'Unmatched end tag {self.at(begin)}, expected "</{frame.name}>", found "</{name}>"'
            )
        self.stack.pop()
        self.close(frame)
        return i + 1

    def close(self, frame: _Open) -> None:
        """Turn a closed element into its entity (none when empty)."""
        parent = self.stack[-1] if self.stack else None
        if frame.name == "code" and parent is not None and parent.name == "pre":
            parent.code_child = (frame.offset, self.offset)
            parent.attributes["language"] = frame.attributes.get("class", "")[len("language-") :]
            return
        length = self.offset - frame.offset
        if length == 0:
            return
        entity_type = _ENTITY_TYPES[frame.name]
        if frame.name == "blockquote" and "expandable" in frame.attributes:
            entity_type = "expandable_blockquote"
        entity = Entity(
            entity_type,
            frame.offset,
            length,
            url=frame.attributes["href"] if frame.name == "a" else None,
            language=frame.attributes.get("language") or None if frame.name == "pre" else None,
            custom_emoji_id=frame.attributes["emoji-id"] if frame.name == "tg-emoji" else None,
        )
        self.entities.append((frame.order, entity))
