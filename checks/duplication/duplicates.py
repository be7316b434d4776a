"""Duplication checks: exact, near and semantic duplicates, and conflicting answers.

A duplicated example is seen several times per epoch: the model memorises it and over-weights
whatever it says. Near-identical prompts with different answers teach noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from audit.cache import namespace, per_text
from audit.check import Check, Need, param
from audit.context import RunContext, artifact, cheap_to_recompute
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.duplication._neardup import (
    Clusters,
    NearConfig,
    NearResult,
    banded_near_candidates,
    clusters_from_labels,
    combine_codes,
    first_occurrence_labels,
    first_occurrence_of_hash,
    hash_codes,
    lsh_keys,
    merge_labels,
    near_duplicates,
    string_codes,
    unique_shingles,
    verified_clusters,
)
from checks.shared import embeddings as _embeddings  # noqa: F401  (_embeddings registers its artifact)
from checks.shared import minhash as mh

# hashing a column again, or one MinHash pass over one field, costs less than keeping every
# check that reads them in one process
cheap_to_recompute("text_hashes", "exact_codes", "near")

#: clusters shown one by one in the HTML report (the result lists every cluster)
MAX_CLUSTER_FINDINGS = 50
CLUSTERS_SHOWN_DOC = ("clusters shown one by one in the HTML report (the JSON result and "
                      "--records list every cluster)")
#: characters of each variant shown in conflicting-response details
EXCERPT_CHARS = 120
#: members of one prompt cluster compared pairwise for conflicts (the rest are ignored)
MAX_CONFLICT_MEMBERS = 50

Field = Literal["text", "prompt", "response"]


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------
def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_hashes(data: DatasetView, ctx: RunContext, field: str) -> np.ndarray:
    """64-bit hashes of the field's normalised texts (0 when empty), memoised.

    Normalised by pyarrow batch by batch (NFKC, lower case, whitespace collapsed), so no
    normalised copy of the column is kept (1M records stay within memory).
    """
    def compute() -> np.ndarray:
        hashes: np.ndarray = per_text(ctx, namespace("text_hashes", 1), data, field,
                                      lambda texts: (mh.text_hashes(texts),))[0]
        return hashes

    return ctx.memo(f"text_hashes:{field}", compute, data)


def exact_codes(data: DatasetView, ctx: RunContext, field: Field | Literal["pair"]) -> np.ndarray:
    """Exact-match codes (equal normalised strings, -1 when empty) of the prompt, response,
    full text, or the (prompt, response) pair."""
    def codes(name: str) -> np.ndarray:
        return ctx.memo(f"exact_codes:{name}",
                        lambda: hash_codes(field_hashes(data, ctx, name)), data)

    if field != "pair":
        return codes(field)
    return ctx.memo("exact_codes:pair", lambda: combine_codes(codes("prompt"),
                                                              codes("response")), data)


def near_result(data: DatasetView, ctx: RunContext, field: Field,
                config: NearConfig) -> NearResult:
    """Memoised near-duplicate pairs and clusters of one field under one configuration."""
    key = f"near:{field}:{config}"
    with ctx.progress(f"Near duplicates ({field})", None):
        return ctx.memo(key, lambda: near_duplicates(
            data.text_column(field), config, ctx.seed, hashes=field_hashes(data, ctx, field),
            keys=field_lsh_keys(data, ctx, field, config)), data)


def field_lsh_keys(data: DatasetView, ctx: RunContext, field: str, config: NearConfig
                   ) -> np.ndarray:
    """MinHash LSH band keys of the field's texts, read from the run's incremental cache for
    texts it has seen (a new array each call: `near_candidates` updates it). Texts shorter than
    their keys are computed each run, not kept."""
    bands, _ = config.bands_rows
    keys: np.ndarray = per_text(ctx, namespace("lsh_keys", 1, config, ctx.seed), data, field,
                                lambda texts: (lsh_keys(texts, config, ctx.seed),),
                                min_bytes=8 * (bands + 1))[0]
    return keys


def cell(data: DatasetView, field: str, position: int) -> str:
    """One text value (no whole-column Python conversion)."""
    value = data.text_column(field)[int(position)].as_py()
    return value if isinstance(value, str) else ""


def group_labels(n: int, clusters: Sequence[Sequence[int]]) -> np.ndarray:
    """One int per record: records in the same cluster share the label of its first member."""
    labels = np.arange(n, dtype=np.int64)
    for members in clusters:
        labels[list(members)] = min(members)
    return labels


def exact_clusters(keys: Sequence[str], *, skip_empty: bool = True) -> list[list[int]]:
    """Positions grouped by identical key (groups of 2+, sorted, largest first)."""
    codes = string_codes(list(keys))
    if not skip_empty:
        codes = np.where(codes < 0, np.int64(len(keys) + 1), codes)
    return [m.tolist() for m in clusters_from_labels(first_occurrence_labels(codes)).members]


def clusters_touching(clusters: Clusters, pairs: np.ndarray, n: int) -> Clusters:
    """The clusters that contain at least one of `pairs` (e.g. a near, not exact, pair)."""
    touched = np.zeros(n, dtype=bool)
    touched[pairs.ravel()] = True
    return Clusters(members=tuple(m for m in clusters.members if touched[m].any()))


@artifact("duplicate_groups")
def _duplicate_groups(data: DatasetView, ctx: RunContext) -> np.ndarray:
    """Per record, the position of the first record of its exact-or-near duplicate cluster
    (itself when unique): exact duplicates of the (prompt, response) pair, and near duplicates
    of the full text with the default `near_duplicates` settings.

    Used to keep duplicates together (e.g. in the same cross-validation fold) and by
    `ft-audit dedupe` (it keeps the record whose position is the label).
    """
    exact = first_occurrence_labels(exact_codes(data, ctx, "pair"))
    near = near_result(data, ctx, "text", NearConfig()).labels
    labels = merge_labels(exact, near)
    labels.setflags(write=False)
    return labels


def _cluster_findings(check: str, code: str, what: str, clusters: Clusters, ids: np.ndarray,
                      metric: str, value: float,
                      extra: Sequence[dict[str, Any]] | None = None,
                      severity: Severity = Severity.WARNING) -> list[Finding]:
    """One finding per cluster, every cluster (largest first); each record's `cluster` value
    is the cluster's representative (its first record)."""
    findings = []
    for index, members in enumerate(clusters.members):
        member_ids = tuple(int(ids[p]) for p in members)
        details: dict[str, Any] = {"representative": member_ids[0], "size": len(members)}
        if extra is not None:
            details.update(extra[index])
        findings.append(Finding(
            check=check, code=code, severity=severity,
            message=f"{len(members)} {what} (representative: record {member_ids[0]})",
            metric=metric, value=value, records=member_ids, details=details,
            record_values={"cluster": (member_ids[0],) * len(member_ids)}))
    return findings


def min_per_cluster(labels: np.ndarray, pairs: np.ndarray, similarity: np.ndarray,
                    clusters: Clusters) -> list[dict[str, Any]]:
    """The lowest pair similarity inside each cluster (pairs labelled by their first record)."""
    lowest = np.full(len(labels), np.inf)
    if len(pairs):
        np.minimum.at(lowest, labels[pairs[:, 0]], similarity)
    return [{"value": round(float(lowest[labels[m[0]]]), 4)} for m in clusters.members]


# ---------------------------------------------------------------------------------------------
# exact duplicates
# ---------------------------------------------------------------------------------------------
@register
class ExactDuplicates(Check):
    """Records identical to another after normalisation (Unicode NFKC, case, whitespace).

    Duplicates are seen several times per epoch, so the model memorises them and over-weights
    what they say; they also inflate the dataset's apparent size. Reported as clusters of
    identical (prompt, response) pairs with a representative (the first occurrence) and the
    fraction of records that could be removed; repeated prompts and repeated responses are
    measured too (a repeated prompt with different answers is `conflicting_responses`).
    """

    name = "exact_duplicates"
    category = "duplication"
    uses = frozenset({"exact_codes", "text_hashes"})
    metrics = ("duplicate_fraction", "n_clusters", "n_duplicate_records",
               "prompt_duplicate_fraction", "response_duplicate_fraction")
    default_thresholds = (Threshold(metric="duplicate_fraction", warn=0.01, fail=0.05),)

    @dataclass(frozen=True)
    class Params:
        max_clusters_listed: int = param(MAX_CLUSTER_FINDINGS, ge=0, le=10_000,
                                         doc=CLUSTERS_SHOWN_DOC)

    def map(self, batch: DatasetView, ctx: RunContext) -> tuple[np.ndarray, ...]:
        """(ids, normalised-text hashes of the prompts, of the responses, has responses)."""
        return (np.asarray(batch.ids), field_hashes(batch, ctx, "prompt"),
                field_hashes(batch, ctx, "response"), np.array([batch.has_response]))

    def combine(self, partials: Sequence[tuple[np.ndarray, ...]], n_records: int,
                ctx: RunContext) -> Measurement:
        ids = np.concatenate([p[0] for p in partials]) if partials else np.zeros(0, np.int64)
        prompt = np.concatenate([p[1] for p in partials]) if partials else np.zeros(0, np.uint64)
        response = np.concatenate([p[2] for p in partials]) if partials \
            else np.zeros(0, np.uint64)
        has_response = any(bool(p[3][0]) for p in partials)
        n = max(n_records, 1)
        # labels straight from the hashes (one sort each), clusters one labelling at a time
        pair = clusters_from_labels(first_occurrence_of_hash(prompt, response))
        prompt_clusters = clusters_from_labels(first_occurrence_of_hash(prompt))
        response_clusters = (clusters_from_labels(first_occurrence_of_hash(response))
                             if has_response else Clusters(members=()))
        del prompt, response
        fraction = pair.n_removable / n
        findings = _cluster_findings(self.name, "duplicate_cluster", "identical records", pair,
                                     ids, "duplicate_fraction", fraction)
        pair_sets = {tuple(m.tolist()) for m in pair.members}
        for kind, clusters, value in (
                ("prompt", prompt_clusters, prompt_clusters.n_removable / n),
                ("response", response_clusters, response_clusters.n_removable / n)):
            only = Clusters(members=tuple(m for m in clusters.members
                                          if tuple(m.tolist()) not in pair_sets))
            findings += _cluster_findings(
                self.name, f"duplicate_{kind}_cluster", f"records with the same {kind}", only,
                ids, f"{kind}_duplicate_fraction", value, severity=Severity.INFO)
        return Measurement(
            metrics={"duplicate_fraction": fraction, "n_clusters": len(pair.members),
                     "n_duplicate_records": pair.n_removable,
                     "prompt_duplicate_fraction": prompt_clusters.n_removable / n,
                     "response_duplicate_fraction": (response_clusters.n_removable / n
                                                     if has_response else float("nan"))},
            findings=tuple(findings),
            details={"cluster_sizes": pair.sizes(),
                     "prompt_cluster_sizes": prompt_clusters.sizes(),
                     "response_cluster_sizes": response_clusters.sizes()})


# ---------------------------------------------------------------------------------------------
# near duplicates
# ---------------------------------------------------------------------------------------------
@register
class NearDuplicates(Check):
    """Records that are near-copies of another: word-level edits, punctuation, casing.

    MinHash signatures of word (or character) shingles and banding LSH find candidate pairs;
    each candidate is verified against the true Jaccard similarity of the two shingle sets
    (no LSH false positives), and verified pairs are clustered. Near-copies over-weight one
    example just like exact ones, but survive exact-match deduplication. The metric counts
    the records removable beyond exact duplicates.
    """

    name = "near_duplicates"
    category = "duplication"
    uses = frozenset({"exact_codes", "near", "text_hashes"})
    metrics = ("near_duplicate_fraction", "removable_fraction", "n_clusters", "n_pairs")
    default_thresholds = (Threshold(metric="near_duplicate_fraction", warn=0.01, fail=0.05),)

    @dataclass(frozen=True)
    class Params:
        field: str = param("text", choices=("text", "prompt", "response"),
                           doc="which text to compare (text = prompt and response)")
        shingle: str = param("word", choices=("word", "char"), doc="shingle unit")
        shingle_size: int = param(3, ge=1, le=32, doc="tokens (words or characters) per shingle")
        threshold: float = param(0.8, gt=0.0, le=1.0, doc="Jaccard similarity of shingle sets "
                                                            "at or above which two records are "
                                                            "near duplicates")
        num_perm: int = param(64, ge=16, le=1024, doc="MinHash permutations")
        lsh_margin: float = param(0.25, ge=0.0, lt=1.0, doc="LSH bands are tuned for threshold "
                                                            "minus this, so few true pairs are "
                                                            "missed (verification removes the "
                                                            "extra candidates)")
        max_clusters_listed: int = param(MAX_CLUSTER_FINDINGS, ge=0, le=10_000,
                                         doc=CLUSTERS_SHOWN_DOC)

    def config(self) -> NearConfig:
        p = self.params
        return NearConfig(unit=p.shingle, size=p.shingle_size, threshold=p.threshold,
                          num_perm=p.num_perm, lsh_margin=p.lsh_margin)

    def map(self, batch: DatasetView, ctx: RunContext) -> tuple[np.ndarray, ...]:
        """(ids, normalised-text hashes, LSH band keys) of the batch's records."""
        field = self.params.field
        return (np.asarray(batch.ids), field_hashes(batch, ctx, field),
                field_lsh_keys(batch, ctx, field, self.config()))

    def second_pass(self, partials: Sequence[tuple[np.ndarray, ...]], n: int,
                    ctx: RunContext) -> np.ndarray | None:
        """The ids of the records in candidate pairs (their shingles verify the pairs), or
        None when there is no candidate."""
        ids, _, candidates = _candidates(partials)
        return np.asarray(ids[np.unique(candidates)], dtype=np.int64) if len(candidates) \
            else None

    def map_again(self, batch: DatasetView, ctx: RunContext, request: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, shingles, offsets) of the batch's requested records."""
        rows = np.flatnonzero(np.isin(batch.ids, request))
        values, offsets = unique_shingles(batch.text_column(self.params.field), rows,
                                          self.config())
        return np.asarray(batch.ids[rows]), values, offsets

    def combine(self, partials: Sequence[Any], n_records: int,
                ctx: RunContext) -> Measurement:
        config = self.config()
        paired = bool(partials) and len(partials[0]) == 2  # a second pass ran
        first = [p[0] for p in partials] if paired else list(partials)
        ids, exact_labels, candidates = _candidates(first)
        jaccard = np.zeros(0)
        if paired and len(candidates):
            owners = np.concatenate([p[1][0] for p in partials])
            offsets = [np.asarray(p[1][2], dtype=np.int64) for p in partials]
            shift = np.cumsum([0, *(len(p[1][1]) for p in partials[:-1])])
            values = np.concatenate([p[1][1] for p in partials])
            flat = np.concatenate([[0], *((o[1:] + s) for o, s in zip(offsets, shift,
                                                                      strict=True))])
            local = np.searchsorted(owners, ids[candidates])
            jaccard = mh.jaccard_of_pairs(values, flat, values, flat, local)
        pairs, kept, labels = verified_clusters(exact_labels, candidates, jaccard, config)
        n = max(n_records, 1)
        exact = clusters_from_labels(exact_labels)
        del exact_labels
        clusters = clusters_from_labels(labels)
        near_only = clusters_touching(clusters, pairs, len(ids))
        beyond = (clusters.n_removable - exact.n_removable) / n
        extra = [{"min_jaccard": d["value"]} for d in min_per_cluster(
            labels, pairs, kept, near_only)]
        findings = _cluster_findings(self.name, "near_duplicate_cluster", "near-identical records",
                                     near_only, ids, "near_duplicate_fraction", beyond, extra)
        bands, rows = config.bands_rows
        return Measurement(
            metrics={"near_duplicate_fraction": max(beyond, 0.0),
                     "removable_fraction": clusters.n_removable / n,
                     "n_clusters": len(near_only.members), "n_pairs": len(pairs)},
            findings=tuple(findings),
            details={"cluster_sizes": near_only.sizes(), "lsh": {
                "bands": bands, "rows": rows, "candidates": len(candidates),
                "verified_pairs": len(pairs)},
                "jaccard_histogram": _histogram(kept, self.params.threshold)})


def _candidates(partials: Sequence[tuple[np.ndarray, ...]]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, exact-duplicate labels, candidate pairs of positions) of every batch's partials
    (ids, hashes, band keys) in record order. The band keys are gathered one band at a time
    (`banded_near_candidates`): the keys of all bands are never copied together."""
    if not partials:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 2), np.int64)
    labels, candidates = banded_near_candidates(
        np.concatenate([p[1] for p in partials]),
        lambda band: np.concatenate([p[2][:, band] for p in partials]), partials[0][2].shape[1])
    return np.concatenate([p[0] for p in partials]), labels, candidates


def _histogram(values: np.ndarray, low: float) -> dict[str, int]:
    edges = np.unique(np.round(np.concatenate([np.linspace(low, 1.0, 5)]), 3))
    if len(edges) < 2 or not len(values):
        return {}
    counts, _ = np.histogram(values, bins=edges)
    return {f"{edges[i]:.2f}-{edges[i + 1]:.2f}": int(c) for i, c in enumerate(counts)}


# ---------------------------------------------------------------------------------------------
# semantic duplicates
# ---------------------------------------------------------------------------------------------
def similar_pairs(vectors: np.ndarray, min_cosine: float, n_neighbors: int, *,
                  block_elements: int = 1 << 25) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of L2-normalised rows with cosine >= min_cosine, at most `n_neighbors`
    (the most similar) per row i among the rows after it.

    An exact radius search by blocked float32 matrix products over the upper triangle, each
    block at most `block_elements` similarities (memory-bounded).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    found_pairs, found_cosine = [np.zeros((0, 2), dtype=np.int64)], [np.zeros(0)]
    rows_per_block = max(1, block_elements // max(n, 1))
    for start in range(0, n, rows_per_block):
        stop = min(n, start + rows_per_block)
        sims = vectors[start:stop] @ vectors[start:].T
        local = np.arange(stop - start)
        sims[:, : stop - start][local[:, None] >= local[None, :]] = -np.inf  # keep j > i
        row, col = np.nonzero(sims >= min_cosine)
        cosine = sims[row, col].astype(np.float64)
        order = np.lexsort((-cosine, row))
        row, col, cosine = row[order], col[order], cosine[order]
        first = np.searchsorted(row, row, side="left")
        keep = np.arange(len(row)) - first < n_neighbors
        found_pairs.append(np.stack([row[keep] + start, col[keep] + start], axis=1))
        found_cosine.append(cosine[keep])
    return np.concatenate(found_pairs), np.concatenate(found_cosine)


@register
class SemanticDuplicates(Check):
    """Paraphrases: records whose meaning is nearly the same although the words differ.

    Pairs with a cosine similarity of sentence embeddings (when the optional `embeddings`
    extra is installed) or of LSA vectors (TF-IDF + truncated SVD) otherwise at or above
    `min_cosine` (exact search by blocked matrix products, quadratic in the record count, so
    the check is off by default: enable it for sets up to about 100k records).
    Pairs that are already exact or near duplicates are counted separately. Many paraphrases
    of one example over-weight it like copies do, and leave less real diversity than the
    record count suggests.
    """

    name = "semantic_duplicates"
    category = "duplication"
    uses = frozenset({"duplicate_groups", "embeddings", "lsa"})
    #: off by default: the vectors (LSA or embeddings) and the pairwise search cost minutes
    #: at 100k records; enable it in the config
    enabled_by_default = False
    metrics = ("semantic_duplicate_fraction", "n_pairs", "n_clusters")
    default_thresholds = (Threshold(metric="semantic_duplicate_fraction", warn=0.05, fail=0.2),)

    @dataclass(frozen=True)
    class Params:
        vectors: str = param("auto", choices=("auto", "lsa", "embeddings"),
                             doc="auto: sentence embeddings when the extra is installed, "
                                 "else LSA")
        min_cosine: float = param(0.9, gt=0.0, le=1.0, doc="cosine similarity at or above "
                                                           "which two records are paraphrases")
        n_neighbors: int = param(10, ge=1, le=100, doc="most similar records kept per record")
        max_clusters_listed: int = param(MAX_CLUSTER_FINDINGS, ge=0, le=10_000,
                                         doc=CLUSTERS_SHOWN_DOC)

    def _vectors(self, data: DatasetView, ctx: RunContext) -> tuple[str, np.ndarray]:
        from checks.shared.embeddings import embeddings_available

        choice = self.params.vectors
        if choice == "embeddings" or (choice == "auto" and embeddings_available()):
            return "embeddings (all-MiniLM-L6-v2)", ctx.artifact("embeddings", data)
        return "lsa", ctx.artifact("lsa", data)

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        n = max(data.n, 1)
        used, vectors = self._vectors(data, ctx) if data.n > 1 else ("none", np.zeros((0, 1)))
        with ctx.progress("Semantic neighbours", None):
            pairs, cosine = similar_pairs(np.asarray(vectors), self.params.min_cosine,
                                          self.params.n_neighbors)
        groups = ctx.artifact("duplicate_groups", data)
        already = groups[pairs[:, 0]] == groups[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
        new_pairs, new_cosine = pairs[~already], cosine[~already]
        labels = merge_labels(groups, mh.component_labels(data.n, new_pairs))
        base = clusters_from_labels(groups)
        clusters = clusters_from_labels(labels)
        semantic = clusters_touching(clusters, new_pairs, data.n)
        fraction = (clusters.n_removable - base.n_removable) / n
        extra = [{"min_cosine": d["value"]}
                 for d in min_per_cluster(labels, new_pairs, new_cosine, semantic)]
        findings = _cluster_findings(self.name, "paraphrase_cluster", "paraphrased records",
                                     semantic, data.ids, "semantic_duplicate_fraction", fraction,
                                     extra)
        return Measurement(
            metrics={"semantic_duplicate_fraction": fraction, "n_pairs": len(new_pairs),
                     "n_clusters": len(semantic.members)},
            findings=tuple(findings),
            details={"vectors": used, "pairs_already_duplicates": int(already.sum()),
                     "cluster_sizes": semantic.sizes()})


# ---------------------------------------------------------------------------------------------
# conflicting responses
# ---------------------------------------------------------------------------------------------
def cluster_pairs(clusters: Clusters, cap: int = MAX_CONFLICT_MEMBERS) -> np.ndarray:
    """All position pairs inside each cluster (first `cap` members of large clusters)."""
    out = [np.zeros((0, 2), dtype=np.int64)]
    for members in clusters.members:
        i, j = np.triu_indices(min(len(members), cap), k=1)
        out.append(np.stack([members[i], members[j]], axis=1))
    return np.concatenate(out)


@register
class ConflictingResponses(Check):
    """The same (or a near-identical) prompt with materially different responses or labels.

    Prompts are grouped by exact match after normalisation and by near-duplicate detection
    (MinHash, Jaccard >= `prompt_threshold`). Within a group, responses whose word Jaccard
    similarity is below `max_response_jaccard` are different variants; for labelled data, a
    group with more than one label conflicts. A model trained on contradicting targets learns
    noise: it hedges, or picks an answer at random.
    """

    name = "conflicting_responses"
    category = "duplication"
    uses = frozenset({"exact_codes", "near", "text_hashes"})
    requires = frozenset({Need.PROMPT})
    metrics = ("conflicting_fraction", "n_conflict_groups", "label_conflict_fraction",
               "n_label_conflict_groups")
    default_thresholds = (Threshold(metric="conflicting_fraction", warn=0.01, fail=0.05),
                          Threshold(metric="label_conflict_fraction", warn=0.0, fail=0.02))

    @dataclass(frozen=True)
    class Params:
        prompt_threshold: float = param(0.8, gt=0.0, le=1.0, doc="Jaccard (word 3-shingles) "
                                                                 "at which prompts count as "
                                                                 "the same")
        max_response_jaccard: float = param(0.5, ge=0.0, le=1.0,
                                            doc="responses less similar than this (word "
                                                "Jaccard) are different answers")
        max_groups_listed: int = param(20, ge=0, le=1000, doc="groups whose variants are quoted "
                                                              "in details (every group is a "
                                                              "finding)")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        n = max(data.n, 1)
        exact = first_occurrence_labels(exact_codes(data, ctx, "prompt"))
        near = near_result(data, ctx, "prompt", NearConfig(threshold=self.params.prompt_threshold))
        groups = clusters_from_labels(merge_labels(exact, near.labels))
        findings: list[Finding] = []
        metrics: dict[str, float] = {"conflicting_fraction": float("nan"),
                                     "n_conflict_groups": 0.0,
                                     "label_conflict_fraction": float("nan"),
                                     "n_label_conflict_groups": 0.0}
        details: dict[str, Any] = {"prompt_groups": len(groups.members)}
        if data.has_response:
            conflicts, variants = self._response_conflicts(data, ctx, groups)
            count = sum(len(g) for g in conflicts)
            metrics["conflicting_fraction"] = count / n
            metrics["n_conflict_groups"] = float(len(conflicts))
            findings += self._findings("conflicting_responses", "different responses",
                                       conflicts, variants, data, count / n,
                                       "conflicting_fraction", "response")
        if data.has_labels:
            labels = string_codes(data.text_column("label").cast(pa.string()))
            conflicts, variants = [], []
            for members in groups.members:
                member_labels = labels[members]
                distinct = np.unique(member_labels[member_labels >= 0])
                if len(distinct) > 1:
                    conflicts.append(members)
                    variants.append([members[member_labels == lab] for lab in distinct])
            count = sum(len(g) for g in conflicts)
            metrics["label_conflict_fraction"] = count / n
            metrics["n_label_conflict_groups"] = float(len(conflicts))
            findings += self._findings("conflicting_labels", "different labels", conflicts,
                                       variants, data, count / n, "label_conflict_fraction",
                                       "label")
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)

    def _response_conflicts(self, data: DatasetView, ctx: RunContext, groups: Clusters
                            ) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
        from checks.duplication._neardup import verify_pairs

        pairs = cluster_pairs(groups)
        responses = data.text_column("response")
        similarity = verify_pairs(responses, responses, pairs, NearConfig(size=1))
        same = pairs[similarity >= self.params.max_response_jaccard]
        variant_labels = mh.component_labels(data.n, same)
        conflicts, variants = [], []
        for members in groups.members:
            members = members[:MAX_CONFLICT_MEMBERS]
            distinct = np.unique(variant_labels[members])
            if len(distinct) > 1:
                conflicts.append(members)
                variants.append([members[variant_labels[members] == v] for v in distinct])
        return conflicts, variants

    def _findings(self, code: str, what: str, conflicts: list[np.ndarray],
                  variants: list[list[np.ndarray]], data: DatasetView, value: float,
                  metric: str, shown: str) -> list[Finding]:
        ids = data.ids
        findings = []
        for index, (members, parts) in enumerate(zip(conflicts, variants, strict=True)):
            details: dict[str, Any] = {"n_variants": len(parts)}
            if index < self.params.max_groups_listed:
                details["prompt"] = excerpt(cell(data, "prompt", members[0]))
                details["variants"] = [{"records": [int(ids[p]) for p in part[:10]],
                                        "excerpt": excerpt(cell(data, shown, part[0]))}
                                       for part in parts[:5]]
            variant_of = {int(p): v for v, part in enumerate(parts) for p in part}
            findings.append(Finding(
                check=self.name, code=code, severity=Severity.WARNING,
                message=f"{len(members)} records with the same prompt have {len(parts)} "
                        f"{what}",
                metric=metric, value=value, records=tuple(int(ids[p]) for p in members),
                details=details,
                record_values={"group": (int(ids[members[0]]),) * len(members),
                               "variant": tuple(variant_of[int(p)] for p in members)}))
        return findings
