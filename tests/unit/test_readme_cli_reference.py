"""The README's CLI reference is the CLI: every command and option in one is in the other.

The command tree is walked from ``nodepipe.cli.app`` (every lazy sub-command loaded), and the
reference table of README.md is read row by row: the first cell names commands
(``nodepipe env remove\\|sync\\|lock``, ``nodepipe pipeline list`` / ``show P``, …) and the
options they take. A command or option the CLI has and the table does not (a user would never
learn of it), or one the table shows and the CLI lacks (a user would type it and be refused),
fails the test, naming it. Options every command shares are said once above the table:
``--json``, ``-p/--pipeline`` and ``--help``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import click

from nodepipe.cli.app import app
from support.cli_tree import commands

README = Path(__file__).resolve().parents[2] / "README.md"
SAID_ONCE = {"--json", "--help", "-p", "--pipeline"}
"""Options the text above the table gives every command that has them."""
PIPE = "\x00"


def option_names(command: click.Command) -> set[str]:
    """The options ``command`` takes, every spelling (``-f``, ``--follow``, ``--no-force``)."""
    names: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def long_options(command: click.Command) -> list[set[str]]:
    """Each option of ``command`` as its long spellings (``{"--force", "--no-force"}``)."""
    return [
        {name for name in (*param.opts, *param.secondary_opts) if name.startswith("--")}
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
    ]


def short_forms(command: click.Command) -> set[tuple[str, str]]:
    """``("-j", "--jobs")`` for each option of ``command`` with a short spelling."""
    pairs = set()
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            shorts = [name for name in param.opts if not name.startswith("--")]
            longs = [name for name in param.opts if name.startswith("--")]
            pairs.update((short, long) for short in shorts for long in longs)
    return pairs


@dataclass
class Row:
    """One row of the reference table: the commands its first cell names, the options it shows."""

    text: str
    options: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    loose: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)
    shown_with: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    """Each command as a span shows it, with what follows its name (``("P", "[--yes]")``)."""

    @property
    def commands(self) -> set[tuple[str, ...]]:
        return set(self.options)


def reference_rows() -> list[Row]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## CLI reference\n", 1)[1].split("\n## ", 1)[0]
    tree = commands()
    rows: list[Row] = []
    for line in section.splitlines():
        if not line.startswith("| `nodepipe"):
            continue
        first = line.replace("\\|", PIPE).split(" | ")[0].removeprefix("| ")
        row = Row(line)
        base: tuple[str, ...] = ()
        for span in re.findall(r"`([^`]+)`", first):
            words = span.split()
            if words[0] == "nodepipe":
                named = resolve(tree, (), " ".join(words[1:]), row)
                if named:
                    base = min(named, key=len)[:-1]
                else:  # ``nodepipe --version``: the root's option
                    row.options.setdefault((), set()).update(options_in(span))
            elif re.match(r"[a-z]", words[0]):
                resolve(tree, base, span, row)
            else:  # ``--limit``: said of the row's commands
                row.loose.update(options_in(span))
        rows.append(row)
    return rows


def resolve(
    tree: dict[tuple[str, ...], click.Command], base: tuple[str, ...], text: str, row: Row
) -> set[tuple[str, ...]]:
    """The commands ``text`` names below ``base`` (``lock|unlock P`` names two), added to row."""
    path = base
    words = text.split()
    end = len(words)
    for index, word in enumerate(words):
        if PIPE in word and isinstance(tree.get(path, app), click.Group):
            choices = [choice.split() for choice in " ".join(words[index:]).split(PIPE)]
            named: set[tuple[str, ...]] = set()
            for at, choice in enumerate(choices):
                if len(choice) == 1:  # ``lock|unlock P``: lock takes P too
                    later = [other for other in choices[at + 1 :] if len(other) > 1]
                    choice = choice + (later[0][1:] if later else [])
                named |= resolve(tree, path, " ".join(choice), row)
            return named
        if (*path, word) in tree:
            path = (*path, word)
            continue
        command = tree.get(path, app)
        if isinstance(command, click.Group) and any(
            isinstance(param, click.Argument) for param in command.params
        ):  # ``pipeline base-env P add``: the group's own argument, then its command
            continue
        if path == base:  # a first word that is no command (``--version``: the root's)
            if not word.startswith("-"):
                row.unknown.append(" ".join((*base, word)))
            return set()
        end = index
        break
    row.options.setdefault(path, set()).update(options_in(text))
    row.shown_with.append((path, " ".join(words[end:])))
    return {path}


def options_in(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text.replace(PIPE, " ")))


def test_every_command_is_in_the_reference_and_every_command_there_exists() -> None:
    rows = reference_rows()
    named = {path for row in rows for path in row.commands}
    unknown = [f"{name!r} in row {row.text[:60]!r}" for row in rows for name in row.unknown]
    assert not unknown, "the README names commands the CLI lacks: " + "; ".join(unknown)
    tree = commands()
    leaves = {
        path
        for path, command in tree.items()
        if not isinstance(command, click.Group) or command.invoke_without_command
    }
    missing = sorted(" ".join(path) for path in leaves - named)
    assert not missing, "commands missing from the README's CLI reference: " + ", ".join(missing)


def test_every_option_is_in_the_reference_and_every_option_there_exists() -> None:
    rows = reference_rows()
    tree = commands()
    shown: dict[tuple[str, ...], set[str]] = {}
    for row in rows:
        for path, said in row.options.items():
            shown.setdefault(path, set()).update(said | row.loose)
    not_shown = [
        f"nodepipe {' '.join(path)} {'/'.join(sorted(spellings))}"
        for path, said in sorted(shown.items())
        if path
        for spellings in long_options(tree[path])
        if not spellings & (said | SAID_ONCE)
    ]
    assert not not_shown, "options missing from the README's CLI reference: " + ", ".join(not_shown)
    lacking = [
        f"nodepipe {' '.join(path)} {option}"
        for row in rows
        for path, said in row.options.items()
        for option in sorted(said - option_names(tree.get(path, app)) - option_names(app))
    ]
    lacking += [
        f"{option} (row {row.text[:50]!r})"
        for row in rows
        for option in sorted(
            row.loose - set().union(*(option_names(tree.get(path, app)) for path in row.commands))
        )
    ]
    assert not lacking, "options the README shows that the CLI lacks: " + ", ".join(lacking)


def test_the_global_options_are_the_root_commands() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## CLI reference\n", 1)[1]
    paragraph = section.split("Global options:", 1)[1].split("Every command", 1)[0]
    said = set().union(*(options_in(span) for span in re.findall(r"`(-[^`]+)`", paragraph)))
    real = {name for name in option_names(app) if name != "--help"}
    assert said == real


def test_a_short_form_means_one_long_option_everywhere_as_the_reference_says() -> None:
    """``-y`` is ``--yes`` on every command that has ``--yes``, and the sentence above the
    table lists every short form there is."""
    tree = commands()
    everywhere = set().union(short_forms(app), *(short_forms(command) for command in tree.values()))
    with_short = {long for _, long in everywhere}
    lacking = [
        f"nodepipe {' '.join(path)} {'/'.join(sorted(spellings))}"
        for path, command in sorted(tree.items())
        for spellings in long_options(command)
        if spellings & with_short and not any(long in spellings for _, long in short_forms(command))
    ]
    assert not lacking, "these lack the short form the same option has elsewhere: " + ", ".join(
        lacking
    )
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## CLI reference\n", 1)[1].split("\n## ", 1)[0]
    sentence = section.split("Short forms:", 1)[1].split("\n\n", 1)[0]
    said = set(re.findall(r"`(-[a-z])` for `(--[a-z-]+)`", sentence.replace("\n", " ")))
    assert said == everywhere


def test_the_commands_without_json_are_the_ones_the_reference_names() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## CLI reference\n", 1)[1]
    listed = section.split("(all but ", 1)[1].split(")", 1)[0].replace("\n", " ")
    said = set(re.findall(r"`([a-z][a-z -]*)`", listed))
    without = {
        " ".join(path)
        for path, command in commands().items()
        if "--json" not in option_names(command)
        and not (isinstance(command, click.Group) and not command.invoke_without_command)
    }
    assert said == without


def placeholders(shown: str, command: click.Command) -> int:
    """How many arguments ``shown`` gives ``command``: words that are neither an option nor
    an option's value (``NODE PKG… [--package NAME]`` gives two)."""
    flags = {
        name
        for param in command.params
        if isinstance(param, click.Option) and param.is_flag
        for name in (*param.opts, *param.secondary_opts)
    }
    count, value_next = 0, False
    for word in re.sub(r"[\[\]()…]", "", shown).split():
        if value_next:
            value_next = False
        elif word.startswith("-"):
            value_next = word.split(PIPE)[0] not in flags
        elif word != PIPE:
            count += 1
    return count


def test_each_command_is_shown_with_the_arguments_it_takes() -> None:
    """``nodepipe env python VERSION`` would be refused: the command takes NODE VERSION."""
    tree = commands()
    wrong = []
    for row in reference_rows():
        for path, shown in row.shown_with:
            command = tree.get(path, app)
            if isinstance(command, click.Group) and not command.invoke_without_command:
                continue
            arguments = [param for param in command.params if isinstance(param, click.Argument)]
            least = sum(1 for argument in arguments if argument.required)
            most = 99 if any(argument.nargs == -1 for argument in arguments) else len(arguments)
            if not least <= placeholders(shown, command) <= most:
                names = " ".join(str(argument.human_readable_name) for argument in arguments)
                wrong.append(f"nodepipe {' '.join(path)} {shown!r} (takes {names or 'none'})")
    assert not wrong, "shown with other arguments than it takes: " + "; ".join(wrong)


def test_a_command_that_takes_a_node_by_tag_takes_its_pipeline_as_the_reference_says() -> None:
    """``-p/--pipeline P`` on every command that takes a node by tag and no PIPELINE argument
    (``runs [P] --run RUN --node NODE``: the run names its pipeline, as the README says)."""
    node_arguments = {"node", "nodes", "parent", "child", "old", "new"}
    lacking = set()
    for path, command in commands().items():
        arguments = {p.name for p in command.params if isinstance(p, click.Argument)}
        options = option_names(command)
        takes_node = arguments & node_arguments or {"--node", "--from-node"} & options
        if takes_node and "pipeline" not in arguments and "--pipeline" not in options:
            lacking.add(" ".join(path))
    assert not lacking, "these take a node by tag but no pipeline: " + ", ".join(sorted(lacking))
