"""Building a plan: source → rules → desired state → diff (with actual and snapshot) → plan.

The only function that reads the target is :func:`make_plan`; everything it calls after the read is
pure. Nothing is written anywhere (D23).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from typing import Any, get_args

from pydantic import BaseModel

from engine.context import build_render_input
from engine.desired import DesiredState
from engine.diagnostics import Diagnostic
from engine.diff import diff_state, immutable_differences
from engine.drift_runs import last_drift_run
from engine.errors import PlanError
from engine.periods import DueReport, due_reports, latest_reports, report_digest
from engine.plan import Adopt, Change, DriftCheck, Plan, PlannedPeriod
from engine.posted import PostedMonth, explain, keep_posted_contract_ends, posted_months
from engine.provider import ActualState, Source, Target
from engine.read_request import ReadRequest, read_request
from engine.rebuild import DUPLICATE, duplicates, recover_snapshot
from engine.removal import apply_removal_policy
from engine.render import render_desired
from engine.rules import RuleFile, load_rules
from engine.settings import Settings
from engine.snapshot import Snapshot, SnapshotStore
from engine.source import SourceData
from engine.tenant import check_tenant, unbound_note
from engine.workspace import Workspace


class SourceSlot:
    """The Cloudmore data a plan renders from, which a plan may let go of once the rules have their
    render input: at 50,000 subscriptions the parsed export is about a seventh of the peak memory,
    and the diff never reads it. Asked for again after :meth:`release` (a posted month renders
    twice, D27), it is loaded again, and refused unless its digest is the one already taken. The
    digest is taken once per loaded source, however many plans are made of it (apply's check under
    the writer lease plans the same inputs again)."""

    def __init__(self, data: SourceData, load: Callable[[], SourceData] | None = None) -> None:
        self._data: SourceData | None = data
        self._load = load
        self._digest: str | None = None
        self.origin = data.origin

    @property
    def data(self) -> SourceData:
        if self._data is None:
            if self._load is None:
                raise PlanError("the Cloudmore data was released and cannot be loaded again")
            data = self._load()
            if self._digest is not None and digest_source(data) != self._digest:
                raise PlanError("the Cloudmore data changed while the plan was made", hint="Plan again.")
            self._data = data
        return self._data

    def digest(self) -> str:
        """:func:`digest_source` of the data, taken on first use."""
        if self._digest is None:
            self._digest = digest_source(self.data)
        return self._digest

    @property
    def released(self) -> bool:
        return self._data is None

    def release(self) -> None:
        """Drop the parsed data when it can be loaded again (else keep it: nothing to gain back)."""
        if self._load is not None:
            self._data = None


@dataclass(frozen=True)
class PlanInputs:
    """Everything a plan is computed from, loaded once."""

    settings: Settings
    rules: list[RuleFile]
    loaded: SourceSlot
    snapshot: Snapshot
    history: Snapshot | None = None
    """What was billed, recovered from the target when the snapshot is lost (D25); rendering and the
    months due follow it, the diff still compares against ``snapshot`` (so found objects are adopted)."""
    drift: DriftCheck | None = None
    """When ``billsync drift`` last ran, shown by the plan (objects of past months are checked only there)."""

    @property
    def source(self) -> SourceData:
        return self.loaded.data

    @property
    def billed(self) -> Snapshot:
        """The snapshot that says which months were applied and what they billed."""
        return self.history if self.history is not None else self.snapshot


@dataclass(frozen=True)
class Rendering:
    """One rendering of the desired state, and what it was rendered from: planning the same inputs
    again (the check under the writer lease, D26) reuses it and only reads the target again."""

    loaded: PlanInputs
    """The inputs as loaded (the same object: rules, source and snapshot do not change once loaded)."""
    history: Snapshot | None
    """What was recovered from the target when there was no snapshot (read again by every plan)."""
    key: tuple[Any, ...]
    posted: Mapping[tuple[str, str], PostedMonth] | None
    desired: DesiredState
    diagnostics: tuple[Diagnostic, ...]
    periods: tuple[PlannedPeriod, ...]
    live: frozenset[str]


class _Reads:
    """A plan's bulk reads of the target, started once: when the rules have their render input and
    the export is released, just before the rules render. Started earlier, at Autotask's pace the
    plan would gain a second or two, but an instant target's answers would pile up beside the whole
    export (at 50,000 subscriptions, about 40 MB more at the peak)."""

    def __init__(self, target: Target, request: ReadRequest, stack: ExitStack) -> None:
        self._target, self._request, self._stack = target, request, stack
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._stack.enter_context(self._target.prefetching(self._request))


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    desired: DesiredState
    actual: ActualState
    renderings: tuple[Rendering, ...] = ()
    """The renderings the plan was made from (a second one when a month turned out posted)."""


def load_inputs(
    workspace: Workspace, source: Source, target: Target, as_of: date | None = None, digest: bool = True
) -> PlanInputs:
    """Read settings, rules, the Cloudmore source (as of ``as_of``) and the snapshot (every error located).
    With ``digest`` (inputs a plan is made of), the source's digest is taken before the snapshot loads."""
    settings = workspace.load_settings()
    rules = load_rules(workspace.rules_dir, set(target.kinds()), display_root=workspace.root)
    data = SourceSlot(source.load(as_of), partial(source.load, as_of))
    # digested before anything else is loaded: the texts it sorts (tens of MB at 50,000
    # subscriptions) are then freed whole, not between the snapshot's entries
    if digest:
        data.digest()
    snapshot = SnapshotStore(workspace.state_dir, target.kinds()).load()
    last_drift = last_drift_run(workspace.state_dir)
    drift = DriftCheck(None if last_drift is None else last_drift.isoformat())
    return PlanInputs(settings, rules, data, snapshot, drift=drift)


def render_inputs(
    inputs: PlanInputs,
    target: Target,
    as_of: date,
    period: str | None,
    posted: Mapping[tuple[str, str], PostedMonth] | None = None,
) -> tuple[DesiredState, list[Diagnostic], list[PlannedPeriod], set[str]]:
    """Render the desired state for the months due on ``as_of`` (or ``period``); a month ``posted``
    in the target is corrected in its first open month instead of rewritten (D27)."""
    return render_due(inputs, target, as_of, due_for(inputs, as_of, period), posted)


def render_due(
    inputs: PlanInputs,
    target: Target,
    as_of: date,
    due: list[DueReport],
    posted: Mapping[tuple[str, str], PostedMonth] | None = None,
    release: bool = False,
    ready: Callable[[], None] | None = None,
) -> tuple[DesiredState, list[Diagnostic], list[PlannedPeriod], set[str]]:
    """Render the desired state for the months ``due`` (computed once per plan by :func:`due_for`); a
    month ``posted`` in the target is corrected in its first open month instead of rewritten (D27).
    With ``release``, the source is let go of once the render input is built (:class:`SourceSlot`), and
    ``due`` is emptied: its reports hold the month's billing lines. ``ready`` is called then, before
    the rules render (the plan starts the target's reads there)."""
    render_input = build_render_input(
        inputs.source,
        inputs.settings,
        due,
        inputs.billed.managed_subscriptions(),
        inputs.billed.recorded_months(),
        as_of,
        posted,
    )
    applied = inputs.billed.applied_periods
    periods = [
        PlannedPeriod(
            d.period,
            d.report.available_on.isoformat(),
            d.revision_of,
            applied.get(d.period) == d.report.available_on.isoformat(),
        )
        for d in due
    ]
    if release:
        inputs.loaded.release()
        if inputs.loaded.released:
            due.clear()
    if ready is not None:
        ready()
    desired = render_desired(
        inputs.rules,
        render_input,
        inputs.settings,
        target.kinds(),
        consume=release,
        recorded=inputs.snapshot.resources,
    )
    diagnostics = list(render_input.diagnostics)
    return desired, diagnostics, periods, render_input.live_subscriptions


def _rendering(
    loaded: PlanInputs,
    inputs: PlanInputs,
    target: Target,
    as_of: date,
    due: list[DueReport],
    posted: Mapping[tuple[str, str], PostedMonth] | None,
    earlier: Sequence[Rendering],
    release: bool = False,
    ready: Callable[[], None] | None = None,
) -> Rendering:
    """Render the months ``due``, or reuse an earlier rendering of the same ``loaded`` inputs, the
    same recovered history, months, date and posted months: everything a rendering depends on.
    ``release``, ``ready``: as :func:`render_due` (``ready`` is not called for a reused rendering)."""
    key = (as_of, tuple((d.period, d.report.available_on, d.revision_of) for d in due))
    for rendering in earlier:
        if (
            rendering.loaded is loaded
            and rendering.key == key
            and rendering.posted == posted
            and rendering.history == inputs.history
        ):
            return rendering
    desired, diagnostics, periods, live = render_due(inputs, target, as_of, due, posted, release, ready)
    return Rendering(
        loaded, inputs.history, key, posted, desired, tuple(diagnostics), tuple(periods), frozenset(live)
    )


def make_plan(
    inputs: PlanInputs,
    target: Target,
    as_of: date,
    period: str | None = None,
    targets: Sequence[str] = (),
    excludes: Sequence[str] = (),
    earlier: PlanResult | None = None,
    release_source: bool = False,
) -> PlanResult:
    """Compute the plan. Reads the target in bulk; writes nothing. A snapshot of another tenant
    is refused before any object is read (D25).

    With ``release_source`` (a caller that needs the source no more), the parsed Cloudmore data is
    let go of once the rules have their render input, before the desired state, the target's objects
    and the snapshot are compared.

    With no snapshot (lost, or a new folder), what was billed is first recovered from the marked
    objects in the target (:func:`recover`), so a month already corrected is not billed again (D25).
    Given the ``earlier`` plan of the same ``inputs``, its rendering is reused: only the reads and
    the diff are done again."""
    reusable = earlier.renderings if earlier is not None else ()
    loaded = inputs
    tenant = target.identity()
    check_tenant(inputs.snapshot.tenant, tenant)
    due = due_for(inputs, as_of, period)
    months = [d.period for d in due]
    # the target's reads run while the rules render: at 50,000 subscriptions each takes seconds
    request = read_request(inputs.snapshot, months, inputs.settings)
    with ExitStack() as reading:
        reads = _Reads(target, request, reading)
        if not inputs.snapshot.resources and inputs.history is None and due:
            reads.start()
            inputs = recover(inputs, target, months)  # the prefetched reads serve it
            due = due_for(inputs, as_of, period)  # the recovered history says what was applied
        inputs_digest = inputs.loaded.digest()
        rendering = _rendering(
            loaded, inputs, target, as_of, due, None, reusable, release_source, reads.start
        )
        reads.start()  # when the rendering was reused
        renderings = [rendering]
        desired = rendering.desired
        if targets or excludes:
            desired = select(desired, targets, excludes)
        actual = target.read(request.wanting(desired, [p.period for p in rendering.periods]))
    posted = posted_months(actual.objects, [p.period for p in rendering.periods])
    if posted:  # D27: rendered again, so the posted months become corrections in an open month
        if inputs.loaded.released:  # loaded again (the same data, or no plan): its reports are due
            due = due_for(inputs, as_of, period)
        rendering = _rendering(loaded, inputs, target, as_of, due, posted, reusable)
        renderings.append(rendering)
        desired = rendering.desired
        if targets or excludes:
            desired = select(desired, targets, excludes)
    diagnostics, periods, live = list(rendering.diagnostics), list(rendering.periods), set(rendering.live)
    if actual.problems:
        raise PlanError(
            "Autotask does not accept these settings:\n  - " + "\n  - ".join(actual.problems),
            hint="Fix the settings file (D4; each setting's line lists this tenant's valid choices) or the "
            "tenant; `billsync doctor` checks the whole tenant, and `billsync doctor --write` puts its "
            "choices into the settings file.",
        )
    kinds = target.kinds()
    changes = diff_state(
        desired,
        actual,
        inputs.snapshot,
        kinds,
        target.comparators(),
        live,
        [p.period for p in periods],
        restore=not (targets or excludes),
    )
    changes = apply_removal_policy(changes, inputs.settings.removal_policy, actual, inputs.snapshot, kinds)
    changes = explain(changes)
    changes, kept_ends = keep_posted_contract_ends(changes, actual.objects)
    if inputs.history is not None and not (targets or excludes):
        changes, recovered = _keep_recovered(changes, inputs.history, desired, actual, periods)
        periods += recovered
    diagnostics += [Diagnostic("warning", "posted-period", message) for message in kept_ends]
    diagnostics += [Diagnostic("error", DUPLICATE, message) for message in duplicates(actual.duplicates)]
    diagnostics += [Diagnostic("error", "unowned-object", message) for message in actual.unowned]
    note = unbound_note(inputs.snapshot.tenant, inputs.snapshot.lineage, tenant)
    if note is not None:
        diagnostics.append(Diagnostic("warning", "tenant-unbound", note))
    diagnostics += [
        Diagnostic("warning", "immutable-field", message)
        for message in immutable_differences(desired, actual, kinds)
    ]
    plan = Plan(
        changes=tuple(changes),
        as_of=as_of,
        periods=tuple(periods),
        snapshot_lineage=inputs.snapshot.lineage,
        snapshot_serial=inputs.snapshot.serial,
        actual_fingerprint=actual.fingerprint,
        objects={
            c.address: actual.objects[c.address].fingerprint for c in changes if c.address in actual.objects
        },
        inputs_digest=inputs_digest,
        rules_digest=digest_rules(inputs),
        target=target.describe(),
        source=inputs.loaded.origin,
        targeted=bool(targets or excludes),
        diagnostics=tuple(diagnostics),
        period=period,
        targets=tuple(targets),
        excludes=tuple(excludes),
        drift=inputs.drift,
    )
    return PlanResult(plan, desired, actual, tuple(renderings))


def select(desired: DesiredState, targets: Sequence[str], excludes: Sequence[str]) -> DesiredState:
    """Keep the resources matching ``targets`` (globs) and what they depend on, minus ``excludes``.

    Only ``*`` and ``?`` are wildcards: an address's brackets and quotes match themselves, so
    ``contract["S-42*"]`` means what it says (``fnmatch`` would read ``[...]`` as a character class).
    """

    def globs(patterns: Sequence[str]) -> list[re.Pattern[str]]:
        return [
            re.compile(re.escape(p).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL) for p in patterns
        ]

    wanted, unwanted = globs(targets), globs(excludes)
    for pattern, glob in zip(targets, wanted, strict=True):
        if not any(glob.fullmatch(a) for a in desired.resources):
            raise PlanError(
                f"--target {pattern!r} matches no address in the plan",
                hint=_closest(pattern, list(desired.resources)),
            )
    chosen = {a for a in desired.resources if not wanted or any(g.fullmatch(a) for g in wanted)}
    pending = list(chosen)
    while pending:
        resource = desired.resources.get(pending.pop())
        if resource is None:
            continue
        for ref in resource.refs.values():
            if ref not in chosen and ref in desired.resources:
                chosen.add(ref)
                pending.append(ref)
    chosen = {a for a in chosen if not any(g.fullmatch(a) for g in unwanted)}
    return replace(desired, resources={a: r for a, r in desired.resources.items() if a in chosen})


def recover(inputs: PlanInputs, target: Target, months: Sequence[str]) -> PlanInputs:
    """``inputs`` with :attr:`PlanInputs.history` read from the target: one bulk read of ``months`` (every
    month due with no snapshot), matched by marker (:func:`engine.rebuild.recover_snapshot`)."""
    actual = target.read(read_request(inputs.snapshot, months, inputs.settings))
    history = recover_snapshot(actual, target.kinds(), inputs.snapshot.lineage)
    return replace(inputs, history=history)


def _keep_recovered(
    changes: list[Change],
    history: Snapshot,
    desired: DesiredState,
    actual: ActualState,
    periods: list[PlannedPeriod],
) -> tuple[list[Change], list[PlannedPeriod]]:
    """Adopt the recovered objects no planned month renders (a month already applied, a service only
    it bills), so the apply records them again; and the recovered months, recorded as applied at the
    revision their corrections name."""
    planned = {c.address for c in changes} | set(desired.resources)
    adopted: list[Change] = [
        Adopt(
            address=address,
            kind=entry.kind,
            target_id=found,
            attributes=entry.attributes,
            source=entry.source,
            period=entry.period,
            reason="recovered from its identity marker: billed before, kept as billed (D25)",
        )
        for address, entry in history.resources.items()
        if (found := entry.found_id) is not None
        and address not in planned
        and _same_id(actual, address, found)
    ]
    due = {p.period for p in periods}
    months = [
        PlannedPeriod(month, revision, None, True)
        for month, revision in sorted(history.applied_periods.items())
        if month not in due
    ]
    return changes + adopted, months


def _same_id(actual: ActualState, address: str, target_id: int) -> bool:
    found = actual.objects.get(address)
    return found is None or found.target_id == target_id


def due_for(inputs: PlanInputs, as_of: date, period: str | None) -> list[DueReport]:
    """The months a plan on ``as_of`` covers (or ``period`` alone), judged by what was billed."""
    snapshot = inputs.billed
    return due_reports(
        inputs.source.reports, as_of, snapshot.applied_periods, period, snapshot.applied_digests
    )


def period_digests(inputs: PlanInputs, as_of: date, periods: Sequence[str]) -> dict[str, str]:
    """Month → digest of the report a plan made on ``as_of`` covers for it (recorded when applied, D20):
    each month's latest revision available on ``as_of`` (a digest reads the lines, never the date)."""
    latest = latest_reports(inputs.source.reports, as_of)
    missing = [month for month in periods if month not in latest]
    if missing:
        raise PlanError(f"no billing report for {', '.join(missing)} is available on {as_of.isoformat()}")
    return {month: report_digest(latest[month]) for month in periods}


def _closest(pattern: str, addresses: list[str]) -> str:
    """A hint naming the addresses closest to a ``--target`` that matched nothing."""
    close = difflib.get_close_matches(pattern, addresses, n=3, cutoff=0.5)
    if not close:
        kinds = sorted({a.partition("[")[0] for a in addresses})
        return 'Addresses look like kind["key"], with kinds ' + ", ".join(kinds) + " (see billsync render)."
    return "Closest: " + ", ".join(close) + "."


def digest_source(source: SourceData) -> str:
    """A digest of the source's content: where each record came from (``origin``) and the order
    records were listed in do not count, so the bundle and the API give the same digest."""
    digest = hashlib.sha256()
    for piece in _record_text(source, {}):
        digest.update(piece.encode())
    return digest.hexdigest()[:16]


def _record_text(model: BaseModel, nested_fields: dict[type, list[str]]) -> Iterator[str]:
    """A record as JSON without ``origin``, in pieces: pydantic's own serialization (fields in model
    order), with each list of records sorted by the records' texts. A record that holds records (a
    report, its lines) is ordered by its own fields when they decide, and streamed: the whole source,
    or a whole report, is never one string. ``nested_fields`` remembers, per model type, which fields
    hold records."""
    nested = _nested_names(type(model), nested_fields)
    flat = model.model_dump_json(exclude={"origin", *nested})
    if not nested:
        yield flat
        return
    yield flat[:-1]
    separator = "," if flat != "{}" else ""
    for name in nested:
        yield separator + json.dumps(name) + ":["
        separator = ","
        records = getattr(model, name)
        ordered = _ordered_by_head(records, nested_fields)
        if ordered is None:
            texts = sorted("".join(_record_text(item, nested_fields)) for item in records)
            for index, text in enumerate(texts):
                yield ("," if index else "") + text
        else:  # each record's text in pieces, one record at a time: a report's lines are never one string
            for index, record in enumerate(ordered):
                pieces = _record_text(record, nested_fields)
                yield ("," if index else "") + next(pieces)
                yield from pieces
        yield "]"
    yield "}"


def _ordered_by_head(records: Sequence[BaseModel], nested_fields: dict[type, list[str]]) -> list[Any] | None:
    """``records`` in the order of their texts, found from each text's first piece (the record's own
    fields, before its nested records) when no first piece starts another: then the texts differ
    within those pieces. None when that does not decide it, or the records nest nothing (their texts
    are their first pieces)."""
    if not records or not _nested_names(type(records[0]), nested_fields):
        return None
    heads = sorted((next(_record_text(record, nested_fields)), index) for index, record in enumerate(records))
    if any(after.startswith(before) for (before, _), (after, _) in zip(heads, heads[1:], strict=False)):
        return None
    return [records[index] for _, index in heads]


def _nested_names(kind: type[BaseModel], nested_fields: dict[type, list[str]]) -> list[str]:
    nested = nested_fields.get(kind)
    if nested is None:
        nested = nested_fields[kind] = [
            name for name, info in kind.model_fields.items() if _holds_records(info.annotation)
        ]
    return nested


def _holds_records(annotation: Any) -> bool:
    return any(isinstance(arg, type) and issubclass(arg, BaseModel) for arg in get_args(annotation))


def digest_rules(inputs: PlanInputs) -> str:
    h = hashlib.sha256(inputs.settings.model_dump_json().encode())
    for rule in inputs.rules:
        h.update(rule.file.encode())
        for res in rule.resources:
            h.update(
                repr(
                    (
                        res.kind,
                        res.for_each,
                        [e.text for e in res.key],
                        sorted((k, v.text) for k, v in res.attributes.items()),
                    )
                ).encode()
            )
    return h.hexdigest()[:16]
