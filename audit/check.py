"""The check contract: a parameter-only object that measures a dataset.

A check declares its name, category, what it needs from the data (`requires`), a frozen
`Params` dataclass with validated bounds, and default thresholds. `run()` returns a
`Measurement`; turning metrics into PASSED/WARNED/FAILED happens in `audit.judge`.

    @register
    class EmptyResponses(Check):
        '''Records with an empty response teach the model to answer with nothing.'''
        name = "empty_responses"
        category = "integrity"
        requires = frozenset({Need.RESPONSE})

        @dataclass(frozen=True)
        class Params:
            strip: bool = param(True, doc="treat whitespace-only as empty")

        default_thresholds = (Threshold(metric="empty_fraction", warn=0.0, fail=0.01),)

        def run(self, data, ctx): ...
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from abc import ABC
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from audit.errors import InvalidParameterError, did_you_mean
from audit.result import JSON, Measurement, Threshold

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView


class Need(StrEnum):
    """What a check needs from the data; unmet needs make the check SKIPPED with a reason."""

    PROMPT = "prompt"  # a prompt / instruction / input text per record
    RESPONSE = "response"  # a response / completion / assistant text per record
    LABELS = "labels"  # a label per record (classification)
    GROUPS = "groups"  # explicit demographic group column(s)
    CHAT = "chat"  # chat-format records (a list of turns)
    SPLIT = "split"  # a split column
    EVAL = "eval"  # an evaluation set (--eval FILE or an eval split)
    PROBE = "probe"  # a probe set of real-use prompts (--probe FILE)


class SkipCheck(Exception):
    """Raised by `Check.run` when the data meets the check's needs on paper but the check
    cannot say anything about it (too few records, one class, no words): the check ends
    SKIPPED with this message as the reason, never ERRORED and never a silent pass.

        if n_classes < 2:
            raise SkipCheck("needs at least two classes; the data has one")
    """


def param(
    default: Any,
    *,
    doc: str = "",
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """A Params field with a default, a one-line doc and optional bounds or choices."""
    meta = {"doc": doc, "ge": ge, "le": le, "gt": gt, "lt": lt, "choices": choices}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple (immutable) for sequence parameter defaults")
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class NoParams:
    """Params for a check that has none."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: JSON
    doc: str
    bounds: str


class Check(ABC):
    """Base class for every check, built-in or third-party."""

    name: ClassVar[str]
    category: ClassVar[str]
    requires: ClassVar[frozenset[Need]] = frozenset()
    Params: ClassVar[type] = NoParams
    default_thresholds: ClassVar[tuple[Threshold, ...]] = ()
    #: every metric `run()` may report (documents them and validates config thresholds)
    metrics: ClassVar[tuple[str, ...]] = ()
    #: False for checks that only run when the config enables them (slow or niche)
    enabled_by_default: ClassVar[bool] = True
    #: names of the shared artifacts (`ctx.artifact`, `ctx.memo`) `run()` reads: `run_audit`
    #: frees an artifact once no check left to run uses it (see audit.context)
    uses: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, **params: Any) -> None:
        self.params = build_params(self.name, self.Params, params)

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        """Measure `data`. Must not mutate it; must be deterministic for `ctx.seed`.

        A check overrides `run`, or `map` and `combine` (a splittable check: then `run` is
        `combine([map(data)])`, and the runner maps batches of records on several workers).
        """
        if not self.splittable():
            raise NotImplementedError(f"{type(self).__name__} defines neither run() nor "
                                      "map() and combine()")
        first = self.map(data, ctx)
        request = self.second_pass([first], data.n, ctx)
        if request is None:
            return self.combine([first], data.n, ctx)
        return self.combine([(first, self.map_again(data, ctx, request))], data.n, ctx)

    # -- splittable checks ----------------------------------------------------------------------
    def map(self, batch: DatasetView, ctx: RunContext) -> Any:
        """The partial result of one batch of records: small and picklable (e.g. the ids of
        the records it flags and a few counts), never a copy of the text. `ctx` holds the
        batch (`ctx.data is batch`) and the run's seed and auxiliary data."""
        raise NotImplementedError

    def combine(self, partials: Sequence[Any], n: int, ctx: RunContext) -> Measurement:
        """The measurement from the partials of every batch, in record order; `n` is the
        number of records. The result must not depend on how the records were batched."""
        raise NotImplementedError

    def second_pass(self, partials: Sequence[Any], n: int, ctx: RunContext) -> Any:
        """What a splittable check needs to see again in every batch, decided from the first
        partials (e.g. the ids of the records in candidate pairs, whose text it compares), or
        None. When not None, `map_again(batch, ctx, request)` runs on every batch and
        `combine` receives (first, second) partial pairs."""
        return None

    def map_again(self, batch: DatasetView, ctx: RunContext, request: Any) -> Any:
        """A batch's answer to `second_pass`'s request."""
        raise NotImplementedError

    def can_split(self, ctx: RunContext) -> bool:
        """Whether this run may map the check over batches (a splittable check may need the
        whole data in some runs: e.g. an evaluation set taken from the data's own split)."""
        return self.splittable()

    @classmethod
    def splittable(cls) -> bool:
        """Whether the check defines map() and combine()."""
        return cls.map is not Check.map and cls.combine is not Check.combine

    # -- introspection used by the registry, config, CLI and contract tests ----------------
    def get_params(self) -> dict[str, JSON]:
        return {f.name: _to_jsonable(getattr(self.params, f.name))
                for f in dataclasses.fields(self.params)}

    @classmethod
    def describe(cls) -> str:
        """The check's docstring: what it measures and why it matters (reports reuse it)."""
        return inspect.cleandoc(cls.__doc__ or "").strip()

    @classmethod
    def summary(cls) -> str:
        return cls.describe().split("\n\n")[0].replace("\n", " ")

    @classmethod
    def param_specs(cls) -> tuple[ParamSpec, ...]:
        hints = typing.get_type_hints(cls.Params)
        specs = []
        for f in dataclasses.fields(cls.Params):
            meta = f.metadata
            bounds = [
                f"{op} {meta[key]}"
                for key, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
                if meta.get(key) is not None
            ]
            if meta.get("choices"):
                bounds.append("one of " + ", ".join(map(repr, meta["choices"])))
            specs.append(ParamSpec(name=f.name, type=_type_name(hints[f.name]),
                                   default=_to_jsonable(f.default), doc=meta.get("doc", ""),
                                   bounds="; ".join(bounds)))
        return tuple(specs)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.params == other.params  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.params))


def build_params(check: str, params_cls: type, values: Mapping[str, Any]) -> Any:
    """Validate `values` against `params_cls`: unknown names, types and bounds."""
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    hints = typing.get_type_hints(params_cls)
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise InvalidParameterError(
                f"check {check!r} has no parameter {key!r}.{did_you_mean(key, fields)} "
                f"Its parameters: {known}."
            )
        clean[key] = _coerce(check, key, hints[key], value)
        _check_bounds(check, key, fields[key].metadata, clean[key])
    return params_cls(**clean)


def _coerce(check: str, key: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    where = f"check {check!r} parameter {key!r}"
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(check, key, arg, value)
            except InvalidParameterError as exc:
                errors.append(str(exc))
        raise InvalidParameterError(f"{where}: {value!r} is not a {_type_name(hint)}")
    if origin is tuple or hint is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise InvalidParameterError(f"{where} must be a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_coerce(check, key, item, v) for v in value)
    if origin is typing.Literal:
        if value not in args:
            raise InvalidParameterError(
                f"{where} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise InvalidParameterError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameterError(f"{where} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidParameterError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise InvalidParameterError(f"{where} must be a string, got {value!r}")
        return value
    return value


def _check_bounds(check: str, key: str, meta: Mapping[str, Any], value: Any) -> None:
    where = f"check {check!r} parameter {key!r}"
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise InvalidParameterError(
            f"{where} must be one of {', '.join(map(repr, meta['choices']))}, got {value!r}")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    for bound, ok, op in (("ge", value >= (meta.get("ge") or 0), ">="),
                          ("gt", value > (meta.get("gt") or 0), ">"),
                          ("le", value <= (meta.get("le") or 0), "<="),
                          ("lt", value < (meta.get("lt") or 0), "<")):
        if meta.get(bound) is not None and not ok:
            raise InvalidParameterError(f"{where} must be {op} {meta[bound]}, got {value!r}")


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "None"
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(hint))
    if origin is tuple:
        return "list of " + _type_name(typing.get_args(hint)[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(hint)))
    return getattr(hint, "__name__", str(hint))


def _to_jsonable(value: Any) -> JSON:
    if isinstance(value, tuple):
        return [_to_jsonable(v) for v in value]
    return value
