"""Task parameters in the decorator front end: one Prefect task run for each value.

::

    @cycle("P1", params="member")                    # P1 = "model<member>"
    @task
    def model(point: int, member: int): ...

    @cycle("P1", after=model)                        # P1 = "model<member> => post"
    @task
    def post(point: int): ...

    flow = cyclic_flow(model, post, initial=1, final=3, parameters={"member": range(1, 4)})

``params=`` on ``@cycle`` and on :func:`~prefect_cycles.frontends.refs.on`
holds what Cylc writes between ``<`` and ``>``: ``"m"``, ``"m,n"``,
``"m=2"`` (one value), and in ``on()`` also ``"m-1"`` (the previous value).
A rule is expanded as Cylc expands a graph line: once for every combination
of the values of the parameters it names, so a task named with a parameter
its dependent lacks is waited for at every value (``model<member> => post``),
and a reference whose offset falls outside the values is dropped with its
``&``/``|`` (``sim<m-1> => sim<m>`` at the first ``m`` has no parent, and
adds no ``sim``). Expanded names (``model_member1``) and their templates are
:class:`~prefect_cycles.frontends.parameters.Parameters`' own, the code the
flow.cylc front end uses, so both front ends name task runs alike.
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ValidationError
from .parameters import Parameters, ParamValue
from .refs import After, AllRefs, AnyRefs, Ref, task_name

__all__ = ["ParamItem", "TaskParameters", "parse_params"]

_ITEM = re.compile(r"\A\s*(\w+)\s*(?:([+\-])\s*(\d+)|=\s*([\w\-+%@]+))?\s*\Z")

#: One parameter in a reference: its name, and "same" (the dependent's value),
#: an offset ("-1", "+2") or a fixed value ("=2").
ParamItem = tuple[str, str]


def parse_params(value: object, where: str, *, offsets: bool) -> tuple[ParamItem, ...]:
    """``params=`` as items: ``"m"``, ``"m,n"``, ``"m=2"``, ``["m", "n"]``, ``{"m": 2}``.

    ``offsets`` allows ``"m-1"`` (in ``on()``; a task's own ``params=`` has none).
    """
    if isinstance(value, Mapping):
        texts = [k if v is None else f"{k}={v}" for k, v in value.items()]
    elif isinstance(value, str):
        texts = value.strip().strip("<>").split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        texts = list(value)
    else:
        raise ValidationError(
            f"{where} takes parameter names such as 'member', 'm,n' or 'm=2' (or a list, "
            f"or a mapping name -> value), not {value!r}",
            fix="write params='member', params=['m', 'n'] or params={'m': 2}",
        )
    items: list[ParamItem] = []
    for text in texts:
        m = _ITEM.match(str(text))
        if m is None or (m.group(2) and not offsets):
            hint = "'m', 'm=2' or 'm-1'" if offsets else "'m' or 'm=2'"
            extra = (
                "; a task's own params= names no offset: put 'm-1' in on(task, params='m-1')"
                if m is not None
                else ""
            )
            raise ValidationError(
                f"{where}: {text!r} is not a parameter item{extra}",
                text=str(text),
                fix=f"write each item as {hint}",
            )
        name, sign, step, fixed = m.groups()
        if any(name == have for have, _ in items):
            raise ValidationError(
                f"{where} names parameter {name!r} twice",
                text=str(text),
                fix="name each parameter once",
            )
        items.append((name, f"{sign}{step}" if sign else (f"={fixed}" if fixed else "")))
    if not items:
        raise ValidationError(f"{where} names no parameter", fix="write params='member'")
    return tuple(items)


@dataclass
class TaskParameters:
    """The parameters of a decorated workflow, and the parameters of each of its tasks."""

    params: Parameters
    #: task name -> its parameter names, in the order its expanded name carries them.
    of_task: dict[str, tuple[str, ...]]
    #: task name -> its expanded names -> their values, made on first use (:meth:`expanded_names`).
    _names: dict[str, dict[str, dict[str, ParamValue]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def create(
        cls,
        values: Mapping[str, str | Iterable[int | str]] | None,
        templates: Mapping[str, str] | None,
        declared: Mapping[str, list[tuple[str, tuple[ParamItem, ...]]]],
    ) -> TaskParameters:
        """From ``parameters=``/``parameter_templates=`` and each task's uses (``where``, items).

        A task is parameterised by the names its ``@cycle(params=...)`` give, or,
        without rules of its own, by those its references give; every use must
        name the same parameters, since ``foo<m>`` and ``foo<m,n>`` are two tasks.
        """
        tmpl = dict(templates or {})
        unknown = sorted(set(tmpl) - set(values or {}))
        if unknown:
            raise ValidationError(
                f"parameter_templates= gives a template for {unknown[0]!r}, which is not a "
                "parameter",
                fix=f"add {unknown[0]} to parameters=, or drop its template",
            )
        params = Parameters.from_python(values or {}, tmpl)
        of_task: dict[str, tuple[str, ...]] = {}
        for tname, uses in declared.items():
            first: tuple[str, str] | None = None
            for where, items in uses:
                names = tuple(n for n, _ in items)
                for pname, how in items:
                    _check_item(params, tname, where, pname, how)
                if first is None:
                    first = (where, ", ".join(names))
                    of_task[tname] = names
                elif of_task[tname] != names:
                    raise ValidationError(
                        f"task {tname!r} is parameterised by <{first[1]}> in {first[0]} but "
                        f"by <{', '.join(names) or 'nothing'}> in {where}",
                        task=tname,
                        fix="give every @cycle(params=...) of a task, and every on(task, "
                        "params=...), the same parameter names (a fixed value is 'm=2'); "
                        "a task with other parameters is another task",
                    )
        return cls(params, {t: n for t, n in of_task.items() if n})

    def __bool__(self) -> bool:
        return bool(self.of_task)

    def name(self, base: str, values: Mapping[str, ParamValue], where: str) -> str:
        """Cylc's expanded name: ``model`` at ``{"member": 1}`` -> ``model_member1``."""
        return base + "".join(self.params.write(p, v, where) for p, v in values.items())

    def expanded_names(self, base: str) -> dict[str, dict[str, ParamValue]]:
        """Every expanded name of task ``base`` -> its values (``model_member1`` -> member 1).

        Made once: looking an expanded name up by scanning every combination
        of values, for each name, was quadratic in the number of values.
        """
        got = self._names.get(base)
        if got is None:
            names = self.of_task.get(base, ())
            got = {}
            for combo in itertools.product(*(self.params.values[p] for p in names)):
                values = dict(zip(names, combo, strict=True))
                got.setdefault(self.name(base, values, ""), values)
            self._names[base] = got
        return got

    def expand(
        self,
        target: str,
        own: tuple[ParamItem, ...],
        after: After | None,
        where: str,
    ) -> list[tuple[str, dict[str, ParamValue], After | None]]:
        """One rule as Cylc expands its graph line: (expanded target, its values, its after).

        A combination whose whole ``after`` falls outside the values is left out,
        as Cylc drops a graph line whose left side is gone.
        """
        refs = list(_refs(after))
        loop: list[str] = [n for n, _ in own]
        for ref in refs:
            for pname, _how in self._items(ref, target, own):
                if pname not in loop:
                    loop.append(pname)
        out: list[tuple[str, dict[str, ParamValue], After | None]] = []
        seen: set[str] = set()
        for combo in itertools.product(*(self.params.values[p] for p in loop)):
            chosen = dict(zip(loop, combo, strict=True))
            values = {p: _value(self.params, p, how, chosen) for p, how in own}
            name = self.name(target, values, where)
            new_after = self._concrete(after, target, own, chosen, where)
            if after is not None and new_after is None:
                continue
            key = f"{name} <- {new_after}"
            if key not in seen:
                seen.add(key)
                out.append((name, values, new_after))
        return out

    def _items(self, ref: Ref, target: str, own: tuple[ParamItem, ...]) -> tuple[ParamItem, ...]:
        """What a reference names: its own ``params=``, else the task's (the task itself: own)."""
        if ref.params is not None:
            return ref.params
        if ref.task is None:
            return own
        return tuple((n, "") for n in self.of_task.get(task_name(ref.task) or "", ()))

    def _concrete(
        self,
        after: After | None,
        target: str,
        own: tuple[ParamItem, ...],
        chosen: Mapping[str, ParamValue],
        where: str,
    ) -> After | None:
        """``after`` at ``chosen`` values: names expanded, out-of-range references dropped."""
        if after is None or not isinstance(after, (Ref, AllRefs, AnyRefs)):
            return after
        if isinstance(after, Ref):
            items = self._items(after, target, own)
            if not items:
                return after
            values = {p: _value(self.params, p, how, chosen) for p, how in items}
            if any(v is _OUT for v in values.values()):
                return None
            if after.task is None:
                return after  # the task itself, at its own values
            name = self.name(task_name(after.task) or "", values, where)
            return replace(after, task=name, params=None)
        terms = [self._concrete(t, target, own, chosen, where) for t in after.terms]
        kept = tuple(t for t in terms if t is not None)
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else type(after)(kept)

    def check_body(self, tname: str, task: Any, where: str) -> None:
        """A parameterised task's body must take each parameter's value by name."""
        fn = getattr(task, "fn", None)
        if fn is None:
            return
        sig = inspect.signature(fn).parameters
        if any(p.kind is p.VAR_KEYWORD for p in sig.values()):
            return
        for pname in self.of_task.get(tname, ()):
            arg = sig.get(pname)
            if arg is None or arg.kind in (arg.POSITIONAL_ONLY, arg.VAR_POSITIONAL):
                raise ValidationError(
                    f"task {tname!r} runs once for each value of parameter {pname!r} "
                    f"({where}), but its body takes no {pname!r} argument by name",
                    task=tname,
                    fix=f"add {pname} to the arguments of {getattr(fn, '__name__', tname)}: "
                    f"def {getattr(fn, '__name__', tname)}(point, {pname}): ...",
                )


class _Out:
    """A parameter offset past the first or last value."""

    def __repr__(self) -> str:
        return "<out of range>"


_OUT: Any = _Out()


def _value(params: Parameters, pname: str, how: str, chosen: Mapping[str, ParamValue]) -> Any:
    if how == "":
        return chosen[pname]
    if how.startswith("="):
        return _fixed(params, pname, how[1:])
    plist = params.values[pname]
    index = plist.index(chosen[pname]) + int(how)
    return plist[index] if 0 <= index < len(plist) else _OUT


def _fixed(params: Parameters, pname: str, text: str) -> ParamValue:
    for value in params.values[pname]:
        if str(value) == text or (isinstance(value, int) and _int(text) == value):
            return value
    raise KeyError(text)


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _check_item(params: Parameters, tname: str, where: str, pname: str, how: str) -> None:
    if pname not in params.values:
        known = ", ".join(sorted(params.values)) or "none"
        raise ValidationError(
            f"{where} names parameter {pname!r} of task {tname!r}, but it is not a parameter "
            f"(parameters: {known})",
            task=tname,
            fix=f"pass parameters={{{pname!r}: range(1, 4)}} (its values) to cyclic_flow() "
            "or build_workflow(), or correct the name",
        )
    if not params.values[pname]:
        raise ValidationError(
            f"parameter {pname!r} of task {tname!r} has no values",
            task=tname,
            fix=f"give {pname} at least one value in parameters=",
        )
    if how.startswith("="):
        try:
            _fixed(params, pname, how[1:])
        except KeyError:
            raise ValidationError(
                f"{where}: {pname}{how} of task {tname!r} is not one of the values of "
                f"parameter {pname!r} ({', '.join(map(str, params.values[pname]))})",
                task=tname,
                fix=f"use one of the values of {pname}, or add {how[1:]} to them in parameters=",
            ) from None


def _refs(after: After | None) -> Iterable[Ref]:
    if isinstance(after, Ref):
        yield after
    elif isinstance(after, (AllRefs, AnyRefs)):
        for term in after.terms:
            yield from _refs(term)
