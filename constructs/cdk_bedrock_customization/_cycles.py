"""A cycle in a graph of dependencies (pure: synth's limits and the rehearsal both look for one in a template)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def cycle_of(needs: Mapping[str, Iterable[str]]) -> list[str]:
    """A cycle of needs (each node's dependencies, in order), as the nodes on it, the first again at the end; [] when
    there is none. Depth first, in needs' order; iterative, so a long chain cannot overflow the stack."""
    state: dict[str, bool] = {}  # True: on the path being walked; False: walked, on no cycle
    for start in needs:
        if start in state:
            continue
        path, pending = [start], [iter(needs[start])]
        state[start] = True
        while pending:
            following = next(pending[-1], None)
            if following is None:
                state[path.pop()] = False
                pending.pop()
            elif state.get(following):
                return [*path[path.index(following) :], following]
            elif following not in state:
                state[following] = True
                path.append(following)
                pending.append(iter(needs[following]))
    return []
