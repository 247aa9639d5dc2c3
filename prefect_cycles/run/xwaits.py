"""Instances waiting for function xtriggers, for the scheduler (no Prefect here).

Cylc calls an xtrigger once for all the instances whose calls agree (same
function, same arguments once the point and the task are filled in), and
calls an unsatisfied one again after its interval; this keeps those calls by
signature and the instances waiting on each. Running the calls is
:mod:`prefect_cycles.run.xtriggers`'s.
"""

from __future__ import annotations

import datetime as dt

from ..graph.model import Workflow
from ..graph.unroll import Instance

#: A call's signature: function name, repr of its arguments, repr of its keyword arguments.
Signature = tuple


class XtriggerWaits:
    """The xtrigger calls of one run, shared by signature, and who waits on each."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self._satisfied: dict[Signature, dict[str, object]] = {}  # call -> its results
        self._due: dict[Signature, list] = {}  # unsatisfied -> [next call time, XTrigger, args, kw]
        self._running: set[Signature] = set()
        self._waiting: dict[Signature, set[Instance]] = {}
        self._pending: dict[Instance, set[Signature]] = {}
        self._labels: dict[Instance, list[tuple[str, Signature]]] = {}

    def waits(self, inst: Instance, now: dt.datetime) -> bool:
        """Register ``inst``'s xtrigger calls; True while any of them is unsatisfied."""
        if inst in self._pending:
            return True
        wf = self.workflow
        trigs = wf.xtriggers_for(inst.task, inst.point) if wf.xtriggers else []
        if not trigs:
            return False
        label = wf.fmt(inst.point)
        values = {
            "point": label,
            "name": inst.task,
            "id": f"{label}/{inst.task}",
            "workflow": wf.name,
            "workflow_name": wf.name,
            "debug": "False",
        }
        pending: set[Signature] = set()
        labels = []
        for xt in trigs:
            args, kwargs = xt.call(values)
            sig = (xt.func, repr(args), repr(sorted(kwargs.items())))
            labels.append((xt.label, sig))
            if sig in self._satisfied:
                continue
            pending.add(sig)
            self._waiting.setdefault(sig, set()).add(inst)
            self._due.setdefault(sig, [now, xt, args, kwargs])
        self._labels[inst] = labels
        if pending:
            self._pending[inst] = pending
            return True
        return False

    def inputs(self, inst: Instance) -> dict[str, object]:
        """Parameters for ``inst`` from the calls it waited for: ``label`` -> results,
        ``label_key`` -> one value (as Cylc passes them in environment variables)."""
        inputs: dict[str, object] = {}
        for label, sig in self._labels.pop(inst, ()):
            results = self._satisfied.get(sig, {})
            inputs[label] = results
            inputs.update({f"{label}_{k}": v for k, v in results.items()})
        return inputs

    def calls(self, now: dt.datetime) -> list[tuple[Signature, str, tuple, dict]]:
        """Calls due now (signature, function, args, kwargs); each is then running."""
        out = []
        for sig, (due, xt, args, kwargs) in self._due.items():
            if sig not in self._running and due <= now:
                self._running.add(sig)
                out.append((sig, xt.func, args, kwargs))
        return out

    def result(
        self, sig: Signature, satisfied: bool, results: dict[str, object], now: dt.datetime
    ) -> list[Instance]:
        """A call ended: the instances it released (none if it is to be called again)."""
        self._running.discard(sig)
        entry = self._due.get(sig)
        if entry is None:
            return []
        if not satisfied:
            entry[0] = now + dt.timedelta(seconds=entry[1].seconds)
            return []
        del self._due[sig]
        self._satisfied[sig] = results
        released = []
        for inst in self._waiting.pop(sig, ()):
            pend = self._pending.get(inst)
            if pend is None:
                continue
            pend.discard(sig)
            if not pend:
                del self._pending[inst]
                released.append(inst)
        return released

    def waiting_on(self, inst: Instance) -> list[str] | None:
        """The unsatisfied xtriggers ``inst`` waits for, sorted; None if it waits for none."""
        sigs = self._pending.get(inst)
        if sigs is None:
            return None
        return sorted(str(self._due[s][1]) for s in sigs if s in self._due)

    def waiting(self) -> list[tuple[Instance, list[str]]]:
        """Instances whose prerequisites are met, waiting for xtriggers (and which)."""
        return [(inst, self.waiting_on(inst) or []) for inst in self._pending]

    def drop(self, inst: Instance) -> None:
        """``inst`` will not run: stop waiting for its calls on its behalf."""
        for sig in self._pending.pop(inst, ()):
            self._waiting.get(sig, set()).discard(inst)

    def next_call(self) -> dt.datetime | None:
        """When the next call that someone waits for is due; None if none is."""
        due = None
        for sig, entry in self._due.items():
            if sig not in self._running and self._waiting.get(sig):
                due = entry[0] if due is None or entry[0] < due else due
        return due
