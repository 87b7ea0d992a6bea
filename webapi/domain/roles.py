"""Roles: one system prompt per Markdown file, with its title and description in front matter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

ROLE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)


class RoleFileError(ValueError):
    """A role file that cannot be used; the message names the file."""


class UnknownDefaultRoleError(RoleFileError):
    """DEFAULT_ROLE names no role file."""


@dataclass(frozen=True)
class Role:
    name: str
    title: str
    description: str
    system_prompt: str


def parse_role(path: Path) -> Role:
    """Read one role file: `---` front matter with title and description, then the prompt."""
    name = path.stem
    if not ROLE_NAME.match(name):
        raise RoleFileError(f"{path}: role names are lowercase letters, digits and hyphens")
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise RoleFileError(f"{path}: expected front matter between '---' lines")
    try:
        meta = yaml.safe_load(match["meta"])
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())  # one line: start-up errors are one line
        raise RoleFileError(f"{path}: front matter is not valid YAML ({problem})") from None
    if not isinstance(meta, dict):
        raise RoleFileError(f"{path}: front matter must be a mapping")
    title, description = meta.get("title"), meta.get("description")
    if not isinstance(title, str) or not title.strip():
        raise RoleFileError(f"{path}: front matter needs a 'title'")
    if not isinstance(description, str) or not description.strip():
        raise RoleFileError(f"{path}: front matter needs a 'description'")
    prompt = match["body"].strip()
    if not prompt:
        raise RoleFileError(f"{path}: the system prompt is empty")
    return Role(name, title.strip(), description.strip(), prompt)


class RoleCatalog:
    """The roles found in a directory, loaded once; the default one must be among them."""

    def __init__(self, directory: Path, default: str) -> None:
        roles = [parse_role(path) for path in sorted(directory.glob("*.md"))]
        self._roles = {role.name: role for role in roles}
        if default not in self._roles:
            raise UnknownDefaultRoleError(f"'{default}' has no file {directory / default}.md")
        self.default = self._roles[default]

    def __iter__(self) -> Iterator[Role]:
        return iter(self._roles.values())

    def get(self, name: str | None) -> Role | None:
        return self._roles.get(name) if name else None

    def resolve(self, name: str | None) -> Role:
        """The named role, or the default when the name is unset or its file is gone."""
        return self.get(name) or self.default
