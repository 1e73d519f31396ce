"""Bounds on one rule template's rendering: time, output length and loop iterations.

Rule files may come from a shared repository; a template that loops 10¹⁰ times or builds a string of
ten gigabytes must stop with a located error, not hang or exhaust memory. Jinja's sandbox already
refuses Python internals and ranges over 100,000; :class:`LimitedEnvironment` adds the rest. Every
``for`` loop's iterable is wrapped so each item counts against the iteration budget and the clock;
every call, ``*``, ``**`` and ``+`` is checked against the clock and the output length.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Budget", "LimitedEnvironment", "TemplateLimitExceeded", "TemplateLimits"]

_BOUNDED = "_billsync_bounded_loop"
_MAX_POWER_DIGITS = 4_300
"""``**`` results with more digits than Python will even print are refused before they are computed."""


class TemplateLimits(BaseModel):
    """``limits:`` in settings.yaml: what one template expression may cost when it is rendered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template_seconds: float = Field(default=2.0, gt=0)
    """Wall-clock seconds one expression may take for one record."""
    template_output: int = Field(default=100_000, ge=1)
    """Characters one expression may produce (and the longest string it may build)."""
    template_iterations: int = Field(default=100_000, ge=1)
    """Loop iterations one expression may run, all its loops together."""


class TemplateLimitExceeded(Exception):
    """Raised inside a rendering that went past a limit; the renderer turns it into a located error."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass
class Budget:
    """What is left for the expression being rendered."""

    limits: TemplateLimits
    deadline: float
    iterations: int

    @classmethod
    def start(cls, limits: TemplateLimits) -> Budget:
        return cls(limits, time.monotonic() + limits.template_seconds, limits.template_iterations)

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(
                f"the template ran for more than {self.limits.template_seconds:g} s", "template_seconds"
            )

    def size(self, value: object) -> object:
        if isinstance(value, str | list | tuple) and len(value) > self.limits.template_output:
            raise self.too_long()
        return value

    def too_long(self) -> TemplateLimitExceeded:
        return TemplateLimitExceeded(
            f"the template built a value longer than {self.limits.template_output:,}", "template_output"
        )

    def iterate(self, items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            self.iterations -= 1
            if self.iterations < 0:
                raise TemplateLimitExceeded(
                    f"the template's loops ran more than {self.limits.template_iterations:,} times",
                    "template_iterations",
                )
            self.tick()
            yield item


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The rules' sandbox, with every rendering held to :attr:`budget` (set before each render)."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.budget: Budget = Budget.start(TemplateLimits())
        self.filters[_BOUNDED] = lambda items: self.budget.iterate(items)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _BOUNDED, [], [], None, None, lineno=loop.lineno)
        return tree

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        self.budget.tick()
        return self.budget.size(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.budget.tick()
        if operator == "*":  # refused before the string or list is built
            for seq, count in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(count, int)
                if sized and len(seq) * count > self.budget.limits.template_output:
                    raise self.budget.too_long()
        integers = isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
        if integers and right * abs(left).bit_length() > _MAX_POWER_DIGITS * 4:
            raise TemplateLimitExceeded(
                f"the template computes a number with more than {_MAX_POWER_DIGITS:,} digits",
                "template_output",
            )
        return self.budget.size(super().call_binop(context, operator, left, right))
