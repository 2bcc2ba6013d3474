"""The order in which CloudFormation works on a stack's resources: a walk of the dependency graph that starts
each resource once what it waits for is done, as many at once as are ready, and what each operation waits for
(a create or an update: what a resource depends on; a delete: what depends on it)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .clock import VirtualClock
from .stack_resources import ResourceFailed
from .template import Template

MAX_RUNNING = 32  # resources worked on at once by a walk of the dependency graph


def walk(
    clock: VirtualClock,
    ids: list[str],
    dependencies: Callable[[str], set[str]],
    act: Callable[[str], None],
    cancel_waits: Callable[[bool], None],
) -> None:
    """act on every id once all its dependencies among ids are done, as many at once as are ready (each on
    an actor of the clock). The first failure stops new work and, as in CloudFormation, cancels the wait
    conditions still waiting (cancel_waits(True); cancel_waits(False) allows waits again at the end); what is
    running finishes; then the failure is raised."""
    remaining = set(ids)
    needs = {lid: dependencies(lid) & remaining for lid in ids}
    done: set[str] = set()
    failures: list[ResourceFailed] = []
    running: set[str] = set()
    finished: list[tuple[str, BaseException | None]] = []
    lock = threading.Lock()
    some_finished = clock.event()

    def run(lid: str) -> None:
        error: BaseException | None = None
        try:
            act(lid)
        except BaseException as raised:
            error = raised
        with lock:
            finished.append((lid, error))
        some_finished.set()  # wakes the walk before this actor ends

    while remaining or running:
        if not failures:
            for lid in sorted(remaining):
                if needs[lid] <= done and len(running) < MAX_RUNNING:
                    remaining.discard(lid)
                    running.add(lid)
                    clock.spawn(run, lid, name=f"resource-{lid}")
        if not running:
            if remaining and not failures:
                raise ResourceFailed(f"Circular dependency between {sorted(remaining)}")
            break
        clock.wait(some_finished)
        some_finished.clear()  # before reading what finished: a later finish sets it again
        with lock:
            ended, finished[:] = list(finished), []
        for lid, error in ended:
            running.discard(lid)
            if error is None:
                done.add(lid)
            else:
                failures.append(error if isinstance(error, ResourceFailed) else _failure(lid, error))
            if failures:
                cancel_waits(True)
    cancel_waits(False)
    if failures:
        raise failures[0]


def _failure(logical_id: str, error: BaseException) -> ResourceFailed:
    """An unexpected error of one resource, as the resource's failure."""
    return ResourceFailed(f"{logical_id}: {type(error).__name__}: {error}")


def _all_dependencies(template: Template) -> Callable[[str], set[str]]:
    """logical id -> what it depends on, directly or through other resources of the template."""
    closure: dict[str, set[str]] = {}

    def dependencies(lid: str) -> set[str]:
        if lid not in closure:
            closure[lid] = set()  # a cycle ends here (the update's walk refused it already)
            direct = template.dependencies(lid) & template.resources.keys()
            closure[lid] = direct.union(*(dependencies(d) for d in direct))
        return closure[lid]

    return dependencies


def dependents_among(template: Template, ids: list[str]) -> Callable[[str], set[str]]:
    """logical id -> those of ids that depend on it: what is deleted before it."""
    dependencies = _all_dependencies(template)
    return lambda lid: {d for d in ids if lid in dependencies(d)}


def dependencies_among(template: Template, ids: list[str]) -> Callable[[str], set[str]]:
    """logical id -> those of ids it depends on: what is updated before it."""
    dependencies = _all_dependencies(template)
    return lambda lid: dependencies(lid) & set(ids)


def direct_dependents_among(template: Template, ids: list[str]) -> Callable[[str], set[str]]:
    """logical id -> those of ids that name it directly (Ref, Fn::GetAtt, DependsOn): what a stack's delete, or
    an update's cleanup, deletes before it."""
    return lambda lid: {d for d in ids if lid in template.dependencies(d)}
