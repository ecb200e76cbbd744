"""``PipelineAnswers`` serves a kept answer only while the store's token, the memo's generation
and the trust in every node's check hold; its ETag follows the bytes; it keeps a few pipelines."""

from __future__ import annotations

import itertools

from nodepipe.live.pipeline_answers import KEPT_PIPELINES, Answer, PipelineAnswers
from nodepipe.workspace.folder_memo import FolderMemo


class World:
    """A memo armed by a watcher that is always caught up, a store token the test moves, and a
    build that keeps each node's check in the memo (as ``compute_statuses`` does)."""

    def __init__(self) -> None:
        self.memo = FolderMemo()
        self.memo.arm(lambda: True)
        self.token = 0
        self.body = b"{}"
        self.nodes = ["a", "b"]
        self.builds = 0
        self.given: list[int | None] = []
        self.same_store: list[bool] = []
        self.answers: PipelineAnswers[int] = PipelineAnswers(lambda: self.token, self.memo)

    def build(
        self, caught_up: bool, last: int | None, same_store: bool
    ) -> tuple[bytes, list[str], int]:
        self.builds += 1
        self.given.append(last)
        self.same_store.append(same_store)
        for node in self.nodes:
            if caught_up and self.memo.get(node, ()) is None:
                self.memo.keep(node, self.memo.ticket(node), (), "check")
        return self.body, self.nodes, self.builds

    def get(self, pipeline: str = "p") -> Answer:
        return self.answers.answer(pipeline, self.build)


def test_an_unchanged_pipeline_is_built_once() -> None:
    world = World()
    first = world.get()
    assert world.get() is first and world.builds == 1


def test_a_commit_to_the_store_builds_again_and_the_same_bytes_keep_their_etag() -> None:
    world = World()
    first = world.get()
    world.token += 1
    again = world.get()
    assert world.builds == 2 and again.etag == first.etag
    world.token += 1
    world.body = b'{"changed": true}'
    changed = world.get()
    assert world.builds == 3 and changed.etag != first.etag and changed.body == world.body


def test_a_node_folder_change_builds_again() -> None:
    world = World()
    world.get()
    world.memo.changed(["b"])
    world.get()
    assert world.builds == 2
    world.memo.changed([])  # a batch of fences only: nothing a check depends on
    world.get()
    assert world.builds == 2


def test_a_node_whose_check_is_not_kept_builds_every_time() -> None:
    world = World()
    world.nodes = ["a", "outside"]
    real = world.memo.keep
    world.memo.keep = lambda node, *rest: None if node == "outside" else real(node, *rest)  # type: ignore[method-assign]
    world.get()
    world.get()
    assert world.builds == 2


def test_a_watcher_that_stopped_vouches_for_nothing() -> None:
    world = World()
    world.get()
    world.memo.disarm()
    world.get()
    world.get()
    assert world.builds == 3


def test_only_the_most_recently_asked_pipelines_are_kept() -> None:
    world = World()
    names = [f"p{i}" for i in range(KEPT_PIPELINES + 1)]
    for name in names:
        world.get(name)
    world.get(names[-1])
    assert world.builds == len(names)
    world.get(names[0])  # the oldest was let go
    assert world.builds == len(names) + 1


def test_if_none_match_is_compared_weakly_and_as_a_list() -> None:
    answer = Answer(b"{}", 'W/"abc-1"')
    assert answer.matches('W/"abc-1"') and answer.matches('"abc-1"')
    assert answer.matches('W/"x", W/"abc-1"') and answer.matches("*")
    assert not answer.matches('W/"abc-2"') and not answer.matches(None) and not answer.matches("")


def test_etags_differ_between_servers() -> None:
    tags = {World().get().etag for _ in itertools.repeat(None, 3)}
    assert len(tags) == 3


def test_a_build_is_given_what_the_last_build_of_that_pipeline_kept() -> None:
    world = World()
    world.get("p")
    world.token += 1
    world.get("p")
    world.get("q")
    assert world.given == [None, 1, None]  # the build from the last one: p's first build


def test_a_build_is_told_whether_anything_was_committed_to_the_store_since_the_last_one() -> None:
    world = World()
    world.get("p")
    world.memo.changed(["a"])  # a file saved in a node folder: the store is the same
    world.get("p")
    world.token += 1
    world.get("p")
    world.get("q")
    assert world.same_store == [False, True, False, False]
