"""`ft-audit fix`: act on an audit, writing a cleaned copy of the dataset and a log of changes.

    ft-audit fix train.jsonl --out clean.jsonl                      # audits, then fixes
    ft-audit fix train.jsonl --out clean.jsonl --from-result audit.json --eval eval.jsonl
    ft-audit fix train.jsonl --out clean.jsonl --policy policy.toml --dry-run
    ft-audit fix --policy-template > policy.toml                    # the default, documented

The policy (`audit.cli.fix_policy`) turns findings into changes: drop duplicates (keeping the
first of each cluster), eval leaks, empty, placeholder, refusal, truncated and
unavailable-context records, and unparseable JSON responses; repair JSON responses, strip
control characters, mask PII; opt-in: drop default-filled fields, relabel, resolve conflicts.
Only records the findings list are changed. With `--from-result`, the saved audit is used when
it was made from this very data (the dataset fingerprints match); otherwise the checks the
policy reads are run first, with the config's parameters.

Written atomically, never over an input: OUT in the input's format (untouched records byte
for byte where the format allows, see `audit.cli.fix_io`) and OUT.changes.jsonl, one line per
record and change: id, line, check, code, action, content hash before and after (sha256 of the
record's canonical JSON; after is null for a drop) and what changed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import numpy as np
import typer

from audit.errors import AuditError

if TYPE_CHECKING:
    from audit.cli.fix_io import Record, Roles, Source
    from audit.cli.fix_plan import Change, FixPlan
    from audit.cli.fix_policy import FixPolicy
    from audit.config import Config
    from audit.dataset import DatasetView
    from audit.load import FieldMapping
    from audit.result import AuditResult

CHANGES_SUFFIX = ".changes.jsonl"
#: file name endings and the format each names
SUFFIXES = ((".jsonl.gz", "jsonl"), (".ndjson.gz", "jsonl"), (".jsonl", "jsonl"),
            (".ndjson", "jsonl"), (".json.gz", "json"), (".json", "json"), (".csv.gz", "csv"),
            (".csv", "csv"), (".tsv.gz", "tsv"), (".tsv", "tsv"), (".parquet", "parquet"),
            (".pq", "parquet"))


@dataclass
class FixOutcome:
    """What a fix did (also when nothing was written: a dry run)."""

    n_records: int
    keep: np.ndarray  # positions kept, in input order
    edited: dict[int, Any]  # position -> edited record
    log: list[dict[str, Any]]
    counts: Counter[tuple[str, str, str, str]]  # (action, policy, check, code) -> records
    notes: list[str] = field(default_factory=list)
    result: AuditResult | None = None
    audited: bool = False  # the checks were run here (no matching result was given)
    written: tuple[Path, ...] = ()
    source: Source | None = None

    @property
    def n_dropped(self) -> int:
        return self.n_records - len(self.keep)


def changes_path(out: Path) -> Path:
    return Path(str(out) + CHANGES_SUFFIX)


def format_of_name(path: Path) -> str | None:
    name = path.name.lower()
    return next((fmt for suffix, fmt in SUFFIXES if name.endswith(suffix)), None)


def fix_dataset(
    data: Path,
    out: Path | None,
    *,
    policy: FixPolicy,
    config: Config,
    result: AuditResult | None = None,
    eval: Path | None = None,
    contamination: Sequence[Path] = (),
    changes: Path | None = None,
    dry_run: bool = False,
    extra_inputs: Sequence[Path | None] = (),
    progress: bool | None = False,
) -> FixOutcome:
    """Audit `data` (unless `result` is a matching audit of it), plan the policy's changes and
    apply them; unless `dry_run`, write `out` and its changes log. Raises AuditError."""
    from audit.cli.fix_io import Roles, open_source
    from audit.cli.fix_plan import plan_fix
    from audit.load import load_dataset, sniff_format
    from audit.runner import run_audit

    fmt = sniff_format(data, None)
    log_path = changes if changes is not None else (changes_path(out) if out else None)
    if out is None and not dry_run:
        raise AuditError("fix needs --out (where to write the cleaned copy), or --dry-run")
    if out is not None:
        _check_outputs(data, fmt, out, log_path, [data, eval, *contamination, *extra_inputs])
    view = load_dataset(data, fields=config.fields, on_bad_records=config.on_bad_records)
    audited = False
    if result is not None:
        _check_match(result, view, data)
    else:
        result = run_audit(view, config, checks=list(policy.checks()), eval=eval,
                           contamination=list(contamination), progress=progress)
        audited = True
    plan = plan_fix(result, policy)
    source = open_source(data, fmt, view)
    outcome = apply_plan(plan, view, source, Roles.of(view.schema), policy)
    outcome.result, outcome.audited, outcome.source = result, audited, source
    if not dry_run and out is not None and log_path is not None:
        write_fix(outcome, out, log_path, [data, eval, *contamination, *extra_inputs])
    return outcome


def write_fix(outcome: FixOutcome, out: Path, log_path: Path,
              inputs: Sequence[Path | None]) -> None:
    """Write the cleaned copy and the changes log of `outcome` (atomically, never over an
    input)."""
    from audit.io import atomic_write_text, ensure_not_input

    if outcome.source is None:
        raise AuditError("nothing to write: the outcome holds no source")
    for target in (out, log_path):
        ensure_not_input(target, inputs)
    outcome.source.write(out, outcome.keep, outcome.edited)
    atomic_write_text(log_path, "".join(json.dumps(row, ensure_ascii=False) + "\n"
                                        for row in outcome.log))
    outcome.written = (out, log_path)


def _check_outputs(data: Path, fmt: str, out: Path, log_path: Path | None,
                   inputs: Sequence[Path | None]) -> None:
    from audit.io import OutputError, ensure_not_input

    named = format_of_name(out)
    if fmt == "hf":
        if out.exists() and not out.is_dir():
            raise OutputError(f"--out {out}: the input is a Hugging Face folder, so the output "
                              "is a folder too; give a folder path")
    elif named is not None and named != fmt:
        raise OutputError(f"--out {out} names a {named} file, but {data} is {fmt}: the cleaned "
                          f"copy is written in the input's format; name it like the input")
    for target in (out, log_path):
        if target is not None:
            ensure_not_input(target, inputs)
    if log_path is not None and out.resolve() == log_path.resolve():
        raise OutputError(f"--changes {log_path} is the --out path; choose another")


def _check_match(result: AuditResult, view: DatasetView, data: Path) -> None:
    info = result.dataset
    if info.fingerprint == view.fingerprint and info.n_records == view.n:
        return
    raise AuditError(
        f"the audit result was made from other data than {data}: its dataset fingerprint is "
        f"{info.fingerprint[:23]}… ({info.n_records} records, fields {dict(info.fields)}), "
        f"{data} loads as {view.fingerprint[:23]}… ({view.n} records, fields "
        f"{dict(view.schema.fields)}). The file changed since the audit, or the field mapping "
        "differs: run `ft-audit run` on it again, or leave --from-result out to audit it now.")


# ---------------------------------------------------------------------------------------------
# applying a plan
# ---------------------------------------------------------------------------------------------
def apply_plan(plan: FixPlan, view: DatasetView, source: Source, roles: Roles,
               policy: FixPolicy) -> FixOutcome:
    """Make the planned changes to copies of the original records (nothing is written)."""
    from audit.cli.fix_io import content_hash

    n = view.n
    ids = view.ids
    known = set(ids.tolist())
    notes = plan.all_notes()
    unknown = sorted(i for i in (*plan.drops, *plan.edits) if i not in known)
    if unknown:
        notes.append(f"{len(unknown)} record ids in the findings are not in the data (e.g. "
                     f"{unknown[0]}); ignored")
    drops = {i: c for i, c in plan.drops.items() if i in known}
    edit_ids = sorted(i for i in plan.edits if i in known and i not in drops)
    counts: Counter[tuple[str, str, str, str]] = Counter()
    rows: dict[int, list[dict[str, Any]]] = {}
    lines = view.lines
    edited: dict[int, Record] = {}

    def entry(position: int, change: Change, before: str | None, after: str | None,
              details: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": int(ids[position]), "line": lines[position], "check": change.check,
                "code": change.code, "action": change.action, "before": before,
                "after": after, **details}

    # edits first: a repair that cannot be made may turn into a drop
    late_drops: dict[int, Change] = {}
    if edit_ids:
        positions = view.position_of(edit_ids)
        editor = _Editor(view, roles, policy)
        for record_id, position, record in zip(edit_ids, positions.tolist(),
                                               source.records(positions.tolist()), strict=True):
            own: list[dict[str, Any]] = []
            before = content_hash(record)
            changed = False
            for change in plan.ordered_edits(record_id):
                done, details = editor.apply(change, record)
                if details.get("drop"):
                    late_drops[record_id] = _as_drop(change, details)
                    break
                if not done:
                    continue
                after = content_hash(record)
                own.append(entry(position, change, before, after, details))
                counts[(change.action, change.policy, change.check, change.code)] += 1
                before, changed = after, True
            if record_id in late_drops:
                continue
            if changed:
                edited[position] = record
                rows[record_id] = own
    drops.update(late_drops)
    keep_mask = np.ones(n, dtype=bool)
    if drops:
        drop_ids = sorted(drops)
        positions = view.position_of(drop_ids)
        keep_mask[positions] = False
        for record_id, position, record in zip(drop_ids, positions.tolist(),
                                               source.records(positions.tolist()), strict=True):
            change = drops[record_id]
            details = dict(change.details)
            if plan.also.get(record_id):
                details["also"] = plan.also[record_id]
            rows[record_id] = [entry(position, change, content_hash(record), None, details)]
            counts[("drop", change.policy, change.check, change.code)] += 1
    log = [row for record_id in sorted(rows) for row in rows[record_id]]
    for skipped in view.skipped:  # unreadable records are not in the output either
        log.append({"id": skipped.id, "line": skipped.line, "check": "bad_records",
                    "code": "skipped_records", "action": "drop", "before": None, "after": None,
                    "reason": skipped.reason})
        counts[("drop", "bad_records", "bad_records", "skipped_records")] += 1
    log.sort(key=lambda row: row["id"])
    return FixOutcome(n_records=n + len(view.skipped), keep=np.flatnonzero(keep_mask),
                      edited=edited, log=log, counts=counts, notes=notes)


def _as_drop(change: Change, details: Mapping[str, Any]) -> Change:
    from audit.cli.fix_plan import Change

    return Change("drop", change.policy, change.check, change.code,
                  {k: v for k, v in details.items() if k != "drop"})


class _Editor:
    """Applies one planned edit to one original record (in place)."""

    def __init__(self, view: DatasetView, roles: Roles, policy: FixPolicy) -> None:
        self.view = view
        self.roles = roles
        self.policy = policy
        self._style: Any = None
        self.handlers: dict[str, Callable[[Change, Record], tuple[bool, dict[str, Any]]]] = {
            "strip_control": self._strip_control, "repair_json": self._repair_json,
            "mask_pii": self._mask_pii, "drop_field": self._drop_field,
            "blank_no_input": self._blank_no_input, "relabel": self._relabel}

    def apply(self, change: Change, record: Record) -> tuple[bool, dict[str, Any]]:
        return self.handlers[change.action](change, record)

    @property
    def style(self) -> Any:
        """The JSON style of the dataset's bare JSON responses (for re-serialised JSON)."""
        if self._style is None:
            from checks.structured import final_responses, infer_json_style

            self._style = infer_json_style(final_responses(self.view))
        return self._style

    def _strip_control(self, change: Change, record: Record) -> tuple[bool, dict[str, Any]]:
        from audit.cli.fix_io import map_text
        from checks.integrity import repair_text

        kinds = list(change.details["kinds"])
        before = json.dumps(record, sort_keys=True, default=str)
        map_text(record, self.roles, lambda text: repair_text(text, kinds))
        return before != json.dumps(record, sort_keys=True, default=str), {"kinds": kinds}

    def _repair_json(self, change: Change, record: Record) -> tuple[bool, dict[str, Any]]:
        from audit.cli.fix_io import get_response, set_response
        from checks.structured import repair_response

        response = get_response(record, self.roles)
        if not isinstance(response, str):
            return False, {}
        repaired = repair_response(response, self.style)
        if repaired.status == "repaired":
            set_response(record, self.roles, repaired.text)
            return True, {"fixes": list(repaired.fixes)}
        if repaired.status == "unparseable" and self.policy.option("structured_output",
                                                                   "drop_unparseable"):
            return False, {"drop": True, "reason": repaired.reason}
        return False, {}

    def _mask_pii(self, change: Change, record: Record) -> tuple[bool, dict[str, Any]]:
        from audit.cli.fix_io import map_text
        from checks.privacy import mask_pii

        masked: Counter[str] = Counter()
        types = list(change.details["types"])

        def mask(text: str) -> str:
            result = mask_pii(text, types, include_placeholders=bool(
                change.details.get("placeholders")),
                spacy_model=str(change.details.get("spacy_model") or ""))
            masked.update(result.counts)
            return result.text

        map_text(record, self.roles, mask)
        return bool(masked), {"masked": dict(sorted(masked.items()))}

    def _drop_field(self, change: Change, record: Record) -> tuple[bool, dict[str, Any]]:
        from audit.cli.fix_io import get_response, set_response
        from checks.structured import remove_field, remove_field_from_text

        path, value = change.details["field"], change.details["value"]
        response = get_response(record, self.roles)
        if isinstance(response, str):
            text, removed = remove_field_from_text(response, path, value, self.style)
            if removed:
                set_response(record, self.roles, text)
        elif isinstance(response, (dict, list)):
            removed = remove_field(response, path, value)
        else:
            removed = 0
        return bool(removed), {"field": path, "value": value}

    def _blank_no_input(self, change: Change, record: Record) -> tuple[bool, dict[str, Any]]:
        from checks.integrity import is_no_input_marker

        name = self.roles.context
        value = record.get(name) if name else None
        if name is None or not isinstance(value, str) or not is_no_input_marker(value):
            return False, {}
        record[name] = ""
        return True, {"field": name, "from": value, "to": ""}

    def _relabel(self, change: Change, record: Record) -> tuple[bool, dict[str, Any]]:
        from audit.cli.fix_io import typed_label

        name = self.roles.label
        if name is None or name not in record:
            return False, {}
        old = record[name]
        new = typed_label(str(change.details["to"]), old)
        if new == old:
            return False, {}
        record[name] = new
        return True, {"field": name, "from": old, "to": new,
                      "confidence": change.details.get("confidence")}


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
def summary_lines(outcome: FixOutcome) -> list[str]:
    kept = len(outcome.keep)
    n_changes = sum(c for (action, *_), c in outcome.counts.items() if action != "drop")
    lines = [f"kept {kept} of {outcome.n_records} records: dropped {outcome.n_dropped}, edited "
             f"{len(outcome.edited)} ({n_changes} changes)"]
    for (action, policy, check, code), count in sorted(
            outcome.counts.items(), key=lambda kv: (kv[0][0] != "drop", kv[0][1], kv[0][2],
                                                    kv[0][3])):
        lines.append(f"  {action:<15} {count:>7}  {policy}: {check}:{code}")
    lines += [f"note: {note}" for note in outcome.notes]
    return lines


PolicyOpt = Annotated[Optional[Path], typer.Option(
    "--policy", help="Fix policy (TOML); default: the built-in policy (print it with "
                     "--policy-template).")]


def fix(
    data: Annotated[Optional[Path], typer.Argument(
        metavar="DATA", help="Dataset to clean (JSONL, JSON, CSV, TSV, Parquet or a Hugging "
                             "Face save_to_disk folder).", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Where to write the cleaned copy (same format as DATA); its "
                            "changes go to OUT.changes.jsonl.", show_default=False)] = None,
    policy_file: PolicyOpt = None,
    from_result: Annotated[Optional[Path], typer.Option(
        "--from-result", help="A JSON result of `ft-audit run` on DATA: used instead of "
                              "auditing again when its dataset fingerprint matches.")] = None,
    eval: Annotated[Optional[Path], typer.Option(
        "--eval", help="Evaluation set: drop training records that leak into it.")] = None,
    contamination: Annotated[Optional[list[Path]], typer.Option(
        "--contamination", help="Benchmark file: drop training records found in it "
                                "(repeatable).")] = None,
    changes: Annotated[Optional[Path], typer.Option(
        "--changes", help="Where to write the changes log (default: OUT.changes.jsonl).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan and counts; write nothing.")] = False,
    policy_template: Annotated[bool, typer.Option(
        "--policy-template", help="Print the default policy, every action documented, and "
                                  "exit.")] = False,
    config: Annotated[Optional[Path], typer.Option(
        "--config", "-c", help="Config file ([fields], seed, on_bad_records and the checks' "
                               "params).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed (default 0).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary line; "
                                        "no progress bars.")] = False,
    prompt_field: Annotated[Optional[str], typer.Option("--prompt-field")] = None,
    response_field: Annotated[Optional[str], typer.Option("--response-field")] = None,
    label_field: Annotated[Optional[str], typer.Option("--label-field")] = None,
    split_field: Annotated[Optional[str], typer.Option("--split-field")] = None,
    schema: Annotated[Optional[str], typer.Option("--schema", help="Force a schema.")] = None,
) -> None:
    """Write a cleaned copy of DATA: act on the audit's findings under a policy, log every change."""
    from audit.cli.fix_policy import load_policy
    from audit.cli.fix_policy import policy_template as template

    if policy_template:
        typer.echo(template(), nl=False)
        return
    if data is None:
        raise typer.BadParameter("give the dataset to clean", param_hint="DATA")
    policy = load_policy(policy_file)
    result = _load_result(from_result) if from_result is not None else None
    cfg = _config(config, result, seed, _fields(prompt_field, response_field, label_field,
                                                split_field, schema))
    outcome = fix_dataset(data, out, policy=policy, config=cfg, result=result, eval=eval,
                          contamination=contamination or (), changes=changes, dry_run=dry_run,
                          extra_inputs=[policy_file, from_result, config],
                          progress=False if quiet else None)
    lines = summary_lines(outcome)
    if outcome.audited and not quiet:
        typer.echo(f"audited {data} with {len(outcome.result.checks) if outcome.result else 0} "
                   "checks (no --from-result)", err=True)
    typer.echo("\n".join(lines[:1] if quiet else lines))
    if dry_run:
        typer.echo("dry run: nothing written")
    else:
        typer.echo("wrote " + " and ".join(str(p) for p in outcome.written))


def _load_result(path: Path) -> AuditResult:
    from audit.result_io import load_result

    return load_result(path)


def _fields(prompt: str | None, response: str | None, label: str | None, split: str | None,
            schema: str | None) -> FieldMapping:
    from audit.load import FieldMapping

    return FieldMapping(prompt=prompt, response=response, label=label, split=split,
                        schema=schema)


def _config(path: Path | None, result: AuditResult | None, seed: int | None,
            fields: FieldMapping) -> Config:
    """The config file (or the one found from the current folder); with a saved result and no
    --config, the result's own fields, seed and on_bad_records, so that DATA loads as it did
    for the audit."""
    from audit.config import load_config
    from audit.load import FieldMapping

    cfg = load_config(path, discover=True)
    if result is not None and path is None:
        saved = result.config
        given = saved.get("fields") or {}
        cfg = cfg.with_overrides(
            fields=FieldMapping(prompt=given.get("prompt"), response=given.get("response"),
                                label=given.get("label"), split=given.get("split"),
                                schema=given.get("schema"),
                                groups=tuple(given.get("groups") or ())),
            seed=saved.get("seed"), on_bad_records=saved.get("on_bad_records"))
    return cfg.with_overrides(seed=seed, fields=cfg.fields.merged(fields))


def add_commands(app: typer.Typer) -> None:
    app.command("fix")(fix)
