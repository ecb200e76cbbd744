"""Which of nodepipe's environment variables a node process inherits (the allow-list)."""

from __future__ import annotations

from nodepipe.execution.node_variables import node_variables, withheld

ENVIRONMENT = {
    "PATH": "/usr/bin",
    "LC_ALL": "C.UTF-8",
    "LC": "not a prefix match: LC_* needs the underscore",
    "CUDA_VISIBLE_DEVICES": "0",
    "PATHOLOGICAL": "an allowed name is not a prefix",
    "NODEPIPE_STORE_URL": "postgresql://u:secret@h/db",
    "PGPASSWORD": "secret",
    "AWS_SECRET_ACCESS_KEY": "key",
    "AWS_REGION": "eu",
    "WANDB_API_KEY": "wandb",
    "RUN_1X": "glob",
    "RUN_22X": "glob",
    "UV_PUBLISH_TOKEN": "pypi",
    "SOMETHING_ELSE": "x",
}


def test_only_allowed_names_and_prefixes_pass() -> None:
    assert node_variables(ENVIRONMENT) == {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "CUDA_VISIBLE_DEVICES": "0",
    }


def test_pass_env_adds_names_and_prefixes_but_never_secrets() -> None:
    passed = node_variables(
        ENVIRONMENT, extra=["WANDB_API_KEY", "AWS_*", "NODEPIPE_*", "PGPASSWORD", "UV_*"]
    )
    assert set(passed) == {
        "PATH",
        "LC_ALL",
        "CUDA_VISIBLE_DEVICES",
        "WANDB_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    }


def test_a_prefix_with_wildcards_matches_as_fnmatch_does() -> None:
    passed = node_variables(ENVIRONMENT, extra=["RUN_?X*"])
    assert "RUN_1X" in passed
    assert "RUN_22X" not in passed  # ? is one character


def test_a_name_without_star_is_exact() -> None:
    assert "AWS_REGION" not in node_variables(ENVIRONMENT, extra=["AWS_"])


def test_the_names_of_pass_env_a_node_never_gets_are_told() -> None:
    asked = ["WANDB_API_KEY", "PGPASSWORD", "NODEPIPE_*", "NODEPIPE_TOKEN", "PG*", "TWINE_X*"]
    assert withheld(asked) == ["PGPASSWORD", "NODEPIPE_*", "NODEPIPE_TOKEN", "TWINE_X*"]
    assert withheld(["UV_*", "AWS_*"]) == []  # wider than a secret: what is allowed still passes
