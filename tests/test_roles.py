"""Roles: one system prompt per Markdown file, title and description in its front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import ROOT
from webapi.domain.roles import ROLE_NAME, RoleCatalog, RoleFileError, parse_role
from webapi.settings import Settings

SHIPPED = ROOT / "prompts"


def write_role(
    directory: Path, name: str, title: str = "A title", body: str = "Be helpful."
) -> Path:
    path = directory / f"{name}.md"
    path.write_text(
        f"---\ntitle: {title}\ndescription: What {name} does.\n---\n{body}\n", encoding="utf-8"
    )
    return path


def test_shipped_roles_are_complete() -> None:
    roles = list(RoleCatalog(SHIPPED, "consultant"))

    assert len(roles) >= 3
    assert len({role.title for role in roles}) == len(roles), "titles tell roles apart"
    for role in roles:
        assert ROLE_NAME.match(role.name)
        assert role.title.strip() == role.title != ""
        assert role.description.strip() == role.description != ""
        assert "\n" not in role.description, f"{role.name}: the description is one line"
        assert len(role.system_prompt) > len(role.description), f"{role.name}: a real prompt"
        assert not role.system_prompt.startswith("---"), "front matter is not part of the prompt"
        assert "description:" not in role.system_prompt


def test_consultant_is_the_default_role() -> None:
    assert Settings.model_fields["DEFAULT_ROLE"].default == "consultant"

    catalog = RoleCatalog(SHIPPED, "consultant")

    assert catalog.default.name == "consultant"
    assert catalog.default is catalog.get("consultant")
    assert "consultant" in catalog.default.title.lower()
    assert catalog.default.system_prompt == parse_role(SHIPPED / "consultant.md").system_prompt


def test_parse_role_reads_front_matter_and_trims_the_prompt(tmp_path: Path) -> None:
    path = tmp_path / "reviewer.md"
    path.write_bytes(
        b"---\r\ntitle: '  Code reviewer '\r\ndescription: Reviews diffs.\r\n---\r\n"
        b"\r\n  You review code.\r\nBe kind.  \r\n\r\n"
    )

    role = parse_role(path)

    assert role.name == "reviewer"
    assert role.title == "Code reviewer"
    assert role.description == "Reviews diffs."
    assert role.system_prompt == "You review code.\nBe kind."


VALID = "---\ntitle: T\ndescription: D\n---\nPrompt.\n"
BROKEN = [
    pytest.param("plain.md", "Just a prompt, no front matter.\n", "front matter", id="no-front"),
    pytest.param(
        "unclosed.md", "---\ntitle: T\ndescription: D\nPrompt.\n", "front matter", id="unclosed"
    ),
    pytest.param(
        "bad-yaml.md", "---\ntitle: [oops\ndescription: D\n---\nP\n", "YAML", id="bad-yaml"
    ),
    pytest.param(
        "listed.md", "---\n- title\n- description\n---\nP\n", "mapping", id="not-a-mapping"
    ),
    pytest.param("untitled.md", "---\ndescription: D\n---\nPrompt.\n", "'title'", id="no-title"),
    pytest.param(
        "blank.md", "---\ntitle: '  '\ndescription: D\n---\nP\n", "'title'", id="blank-title"
    ),
    pytest.param(
        "numeric.md", "---\ntitle: 42\ndescription: D\n---\nP\n", "'title'", id="int-title"
    ),
    pytest.param(
        "undescribed.md", "---\ntitle: T\n---\nPrompt.\n", "'description'", id="no-description"
    ),
    pytest.param(
        "empty.md", "---\ntitle: T\ndescription: D\n---\n\n   \n", "empty", id="empty-body"
    ),
    pytest.param("Bad_Name.md", VALID, "role names", id="bad-file-name"),
    pytest.param("-leading.md", VALID, "role names", id="leading-hyphen"),
]


@pytest.mark.parametrize(("file_name", "text", "problem"), BROKEN)
def test_broken_role_file_is_named_in_a_clear_error(
    tmp_path: Path, file_name: str, text: str, problem: str
) -> None:
    path = tmp_path / file_name
    path.write_text(text, encoding="utf-8")

    with pytest.raises(RoleFileError) as caught:
        parse_role(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: "), "the message starts with the file"
    assert problem in message


def test_a_broken_file_stops_the_whole_catalog(tmp_path: Path) -> None:
    write_role(tmp_path, "consultant")
    broken = tmp_path / "broken.md"
    broken.write_text("no front matter\n", encoding="utf-8")

    with pytest.raises(RoleFileError, match=r"broken\.md"):
        RoleCatalog(tmp_path, "consultant")


def test_default_role_needs_a_file(tmp_path: Path) -> None:
    write_role(tmp_path, "editor")

    with pytest.raises(RoleFileError) as caught:
        RoleCatalog(tmp_path, "consultant")

    assert "consultant" in str(caught.value)
    assert str(tmp_path / "consultant.md") in str(caught.value)


def test_catalog_reads_only_markdown_files(tmp_path: Path) -> None:
    write_role(tmp_path, "consultant")
    write_role(tmp_path, "editor")
    (tmp_path / "notes.txt").write_text("not a role", encoding="utf-8")
    (tmp_path / "draft.md.bak").write_text("not a role either", encoding="utf-8")

    catalog = RoleCatalog(tmp_path, "consultant")

    assert sorted(role.name for role in catalog) == ["consultant", "editor"]


@pytest.mark.parametrize("name", [None, "", "no-such-role", "CONSULTANT"])
def test_resolve_falls_back_to_the_default(tmp_path: Path, name: str | None) -> None:
    write_role(tmp_path, "consultant", title="Consultant")
    write_role(tmp_path, "editor", title="Editor")
    catalog = RoleCatalog(tmp_path, "consultant")

    assert catalog.resolve(name) is catalog.default
    assert catalog.get(name) is None


def test_resolve_finds_a_known_role(tmp_path: Path) -> None:
    write_role(tmp_path, "consultant", title="Consultant")
    write_role(tmp_path, "editor", title="Editor", body="Edit the text.")
    catalog = RoleCatalog(tmp_path, "consultant")

    editor = catalog.resolve("editor")

    assert (editor.name, editor.title, editor.system_prompt) == (
        "editor",
        "Editor",
        "Edit the text.",
    )
    assert catalog.get("editor") is editor
    assert catalog.default.name == "consultant"
