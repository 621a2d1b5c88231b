"""Which run-file commands each command waits for, from what they read and write.

topsStack's own runner waits for a whole run file before the next one. Here a command waits
only for the earlier commands (in an earlier run file, or earlier in its own run file) whose
outputs overlap what it reads or writes (see :mod:`insarflow.isce.commandio`). Examples on a
NESD interferogram stack (reference notes §2.4), none of them written down here as such:

* unpack_secondary_slc(d) reads only the SAFE and orbits: it waits for nothing;
* generate_burst_igram(d1, d2) reads coreg_secondarys/d1 and d2: it waits for their
  geo2rdr and resample, not for extract_stack_valid_region;
* invertMisreg reads ``misreg/azimuth/pairs/``, a directory every pairs_misreg command writes
  into, so it waits for all of them (a barrier, as it must be); the same holds for
  extractCommonValidRegion (``coreg_secondarys/``) and invertIon (``ion/``);
* mergeSwathIon reads ``ion/<pair>``, so it waits for that pair's per-swath computeIon lines.

A command whose inputs cannot be worked out waits for the whole previous run file (and so for
everything before it), and everything after it waits for it.

Only direct dependencies are kept (transitive reduction), so the job graph stays small: a
command that waits for resample(d) does not also list geo2rdr(d).

Chains (see :func:`_chains`): commands on one date or pair that run back to back
(``geo2rdr -> resample`` of a date, ``merge_burst_igram -> filter_coherence -> unwrap`` of a
pair) can run as one cluster job.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from insarflow.isce.commandio import CommandIO, command_io


@dataclass
class Node:
    step: str
    index: int
    io: CommandIO | None
    deps: set[int] = field(default_factory=set)
    barrier: bool = False  # waits for the whole previous step (inputs unknown)


class PathIndex:
    """Writers by path, answering "who wrote something overlapping this path"."""

    def __init__(self) -> None:
        self.exact: dict[str, set[int]] = {}
        self.below: dict[str, set[int]] = {}  # directory -> writers of paths under it
        self.everything: set[int] = set()  # commands with unknown outputs

    def add(self, path: str, writer: int) -> None:
        self.exact.setdefault(path, set()).add(writer)
        parent = os.path.dirname(path)
        while parent and parent != path:
            self.below.setdefault(parent, set()).add(writer)
            path, parent = parent, os.path.dirname(parent)

    def overlapping(self, path: str) -> set[int]:
        found = set(self.everything)
        found |= self.exact.get(path, set())
        found |= self.below.get(path, set())
        # files with the same stem: merged/SLC/d/d.slc covers d.slc.full and d.slc.full.vrt
        head, name = os.path.split(path)
        while "." in name:
            name = name.rsplit(".", 1)[0]
            found |= self.exact.get(os.path.join(head, name), set())
        # a written directory covers the files below it
        parent = head
        while parent:
            found |= self.exact.get(parent, set())
            above = os.path.dirname(parent)
            if above == parent:
                break
            parent = above
        return found


def _reduce(nodes: list[Node]) -> None:
    """Keep only direct dependencies (nodes are in an order where deps come first)."""
    ancestors: list[int] = []
    for node in nodes:
        reach = 0
        for dep in node.deps:
            reach |= ancestors[dep]
        node.deps = {dep for dep in node.deps if not reach >> dep & 1}
        for dep in node.deps:
            reach |= 1 << dep
        ancestors.append(reach)


def _ancestors(nodes: list[Node]) -> list[int]:
    result: list[int] = []
    for node in nodes:
        reach = 0
        for dep in node.deps:
            reach |= result[dep] | 1 << dep
        result.append(reach)
    return result


def _chains(nodes: list[Node], wait: bool) -> list[int | None]:
    """For each command, the node id of the first command of its chain (None: no chain).

    ``B`` continues the chain of ``A`` when A is B's only dependency on the same date or pair
    and B is A's only dependent (so a chain run as one job holds back nobody waiting for A).
    Without ``wait``, B's other dependencies must also be ready when A may start (ancestors
    of A, or commands that start from A's ancestors): the chain then never starts later than
    its first command would alone. With ``wait`` that condition is dropped: longer chains
    (generate_burst_igram joins its pair's merge, which waits for the stack), fewer jobs.
    """
    ancestors = _ancestors(nodes)
    # the latest step with a command of unknown inputs among each node's ancestors: that
    # command waits for whole steps (step markers), so a chain must not span across it
    step_numbers = {
        name: number for number, name in enumerate(dict.fromkeys(n.step for n in nodes))
    }
    after_barrier = [-1] * len(nodes)
    for number, node in enumerate(nodes):
        latest = step_numbers[node.step] if node.barrier else -1
        for dep in node.deps:
            latest = max(latest, after_barrier[dep])
        after_barrier[number] = latest
    dependents = [0] * len(nodes)
    for node in nodes:
        for dep in node.deps:
            dependents[dep] += 1
    head: list[int | None] = [None] * len(nodes)
    for number, node in enumerate(nodes):
        if node.barrier or node.io is None or node.io.unit is None:
            continue
        same_unit = [
            dep
            for dep in node.deps
            if nodes[dep].io is not None
            and nodes[dep].io.unit == node.io.unit
            and not nodes[dep].barrier
        ]
        if len(same_unit) != 1 or dependents[same_unit[0]] != 1:
            continue
        (previous,) = same_unit
        if after_barrier[number] >= step_numbers[nodes[previous].step]:
            continue
        ready = ancestors[previous]
        if not wait and not all(
            dep == previous
            or ready >> dep & 1
            or (nodes[dep].deps and all(ready >> d & 1 for d in nodes[dep].deps))
            for dep in node.deps
        ):
            continue
        if head[previous] is None:
            head[previous] = previous
        head[number] = head[previous]
    return head


def annotate(steps: Iterable[dict], work_dir: str) -> None:
    """Add ``after`` ([[step, index], ...]), ``barrier`` and ``chain`` to every command of
    ``steps`` (plan step dicts, in run-file order), in place."""
    steps = list(steps)
    nodes: list[Node] = []
    commands: list[dict] = []
    index = PathIndex()
    for step in steps:
        step_start = len(nodes)
        for command in step["commands"]:
            number = len(nodes)
            lines = command["lines"]
            io = command_io(lines[0], work_dir) if len(lines) == 1 else None
            node = Node(step=step["name"], index=command["index"], io=io)
            if io is None:
                node.barrier = True
                node.deps = set(range(step_start))
            else:
                # earlier lines of the same run file count too (mergeSwathIon reads what the
                # computeIon lines before it wrote); unknown commands only from earlier files
                for path in (*io.reads, *io.writes):
                    node.deps |= index.overlapping(path)
                node.deps = {
                    dep for dep in node.deps if dep < step_start or nodes[dep].io is not None
                }
                for path in io.writes:
                    index.add(path, number)
            nodes.append(node)
            commands.append(command)
        index.everything |= {n for n in range(step_start, len(nodes)) if nodes[n].io is None}
    _reduce(nodes)
    chains = {"chain": _chains(nodes, wait=False), "long_chain": _chains(nodes, wait=True)}
    for number, (node, command) in enumerate(zip(nodes, commands, strict=True)):
        command["after"] = [[nodes[dep].step, nodes[dep].index] for dep in sorted(node.deps)]
        command["barrier"] = node.barrier
        command["unit"] = node.io.unit if node.io else None
        for key, heads in chains.items():
            head = heads[number]
            command[key] = None if head is None else f"{nodes[head].step}-{nodes[head].index}"
