"""Rules on the paths through a flow: blocks no call reaches, loops no call leaves."""

from __future__ import annotations

from agi_callbot.flow import model as m
from agi_callbot.flow.lint.findings import Findings


def successors(flow: m.Flow, block: m.Block) -> list[str]:
    return [edge.target for edge in block.edges() if edge.target in flow.blocks]


def reachable(flow: m.Flow) -> set[str]:
    roots = [flow.start] + ([flow.on_error] if flow.on_error else [])
    seen: set[str] = set()
    stack = [r for r in roots if r in flow.blocks]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(successors(flow, flow.blocks[name]))
    return seen


def unreachable_blocks(flow: m.Flow, found: Findings) -> None:
    seen = reachable(flow)
    for block in flow.blocks.values():
        if block.name not in seen:
            found.add(
                "warning",
                "unreachable",
                f"block {block.name!r} is never reached from start ({flow.start!r})",
                block,
                block.name,
            )


def can_end(block: m.Block) -> bool:
    """Whether the call can end (or leave the flow) at this block."""
    spec = block.spec
    if spec.terminal or isinstance(spec, m.Transfer | m.Subflow):
        return True  # a transfer ends the call when answered; a sub-flow may hang up
    if isinstance(spec, m.Menu | m.Collect) and spec.on_fail is None:
        return True
    if isinstance(spec, m.Hours | m.Goto | m.Menu):
        return False
    if isinstance(spec, m.Branch):
        return spec.default is None and block.next is None
    return block.next is None


def components(flow: m.Flow) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative: flows can be long chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in flow.blocks:
        if root in index:
            continue
        work = [(root, iter(successors(flow, flow.blocks[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    out.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(successors(flow, flow.blocks[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def loops_with_no_exit(flow: m.Flow, found: Findings) -> None:
    for component in components(flow):
        members = set(component)
        first = flow.blocks[component[0]]
        if len(component) == 1 and first.name not in successors(flow, first):
            continue
        blocks = [flow.blocks[name] for name in flow.blocks if name in members]
        leaves = any(
            can_end(b) or any(t not in members for t in successors(flow, b)) for b in blocks
        )
        if leaves:
            continue
        names = ", ".join(b.name for b in blocks)
        waits = any(isinstance(b.spec, m.Menu | m.Collect) for b in blocks)
        if waits:
            found.add(
                "warning",
                "no-exit-loop",
                f"loop with no way out ({names}): only the caller hanging up ends it",
                blocks[0],
                blocks[0].name,
            )
        else:
            found.add(
                "error",
                "no-exit-loop",
                f"loop with no way out ({names}): the call "
                f"spins until max_steps ({flow.max_steps}) and fails",
                blocks[0],
                blocks[0].name,
            )
