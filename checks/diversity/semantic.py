"""Diversity of meaning and of task types: clusters in vector space, and a task-type lexicon.

A dataset can be lexically varied yet cover few topics or tasks; the fine-tuned model then does
well on those and worse than the base model elsewhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from audit.check import Check, Need, SkipCheck, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.shared.corpus import (
    entropy_effective_number,
    sample_positions,
    sample_view,
    snippet,
    vendi_score,
)
from checks.shared.language import COVERAGE_SAMPLE, language_coverage
from checks.shared.tasks import task_lexicon, task_type
from checks.shared.text import words


def vector_source(source: str) -> str:
    """'embeddings' when asked for (or, with 'auto', when the optional extra is installed)."""
    from checks.shared.embeddings import embeddings_available

    if source == "embeddings" or (source == "auto" and embeddings_available()):
        return "embeddings"
    return "lsa"


def record_vectors(data: DatasetView, ctx: RunContext, source: str) -> np.ndarray:
    """L2-normalised vectors per record from the `embeddings` or the shared `lsa` artifact
    (without the extra, `embeddings` raises EmbeddingsUnavailable saying how to install it)."""
    if source == "embeddings":
        return np.asarray(ctx.artifact("embeddings", data), dtype=np.float32)
    return np.asarray(ctx.artifact("lsa", data))


def choose_k(n: int, max_clusters: int) -> int:
    """Clusters for n records: about sqrt(n / 2), at least 2, at most `max_clusters` and n."""
    return int(max(1, min(max_clusters, n, max(2, round(np.sqrt(n / 2))))))


@register
class SemanticDiversity(Check):
    """How many distinct topics or task families the records cover, in vector space.

    Records (a seeded sample of at most `max_records`; `max_embedded_records` with sentence
    embeddings) are embedded (the shared LSA vectors of TF-IDF; sentence embeddings when the
    optional extra is installed) and clustered with MiniBatchKMeans (k about sqrt(n/2)).
    Reports the effective number of clusters (exp of the entropy of cluster sizes), the share
    held by the largest clusters, tiny clusters (task families with too few examples to learn),
    and the Vendi score (effective number of distinct records, on TF-IDF or embeddings) of a
    `vendi_sample` sample; `vendi_ratio` is it divided by the sample size (near-duplicates and
    templates pull it down). A dataset dominated
    by a few clusters fine-tunes a model that handles those and little else.
    """

    name = "semantic_diversity"
    category = "diversity"
    uses = frozenset({"diversity_view", "embeddings", "lsa", "tfidf", "field_tokens"})
    metrics = ("effective_clusters", "cluster_evenness", "largest_cluster_share",
               "top3_cluster_share", "vendi_score", "vendi_ratio", "n_tiny_clusters", "k")
    default_thresholds = (
        Threshold(metric="largest_cluster_share", warn=0.35, fail=0.6),
        Threshold(metric="cluster_evenness", warn=0.5, fail=0.3, direction="min"),
        Threshold(metric="vendi_ratio", warn=0.3, fail=0.15, direction="min"),
    )

    @dataclass(frozen=True)
    class Params:
        vectors: str = param("auto", choices=("auto", "lsa", "embeddings"),
                             doc="record vectors: embeddings when installed (auto), or lsa")
        max_clusters: int = param(50, ge=2, le=1000, doc="upper bound on k")
        tiny_cluster_fraction: float = param(0.005, ge=0, lt=1, doc="clusters smaller than "
                                             "this share of records are tiny families")
        vendi_sample: int = param(1000, ge=10, le=5000, doc="records sampled for the Vendi "
                                  "score")
        max_records: int = param(10_000, ge=100, doc="records sampled (seeded) to vectorise "
                                 "and cluster; the result says when it sampled")
        max_embedded_records: int = param(1000, ge=100, doc="fewer records when sentence "
                                          "embeddings are used (slow to compute on CPU)")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        from sklearn.cluster import MiniBatchKMeans
        from threadpoolctl import threadpool_limits

        p = self.params
        metrics = {m: float("nan") for m in self.metrics}
        if data.n < 4:
            raise SkipCheck(f"needs at least 4 records to cluster, got {data.n}")
        source = vector_source(p.vectors)
        cap = min(p.max_records, p.max_embedded_records) if source == "embeddings" else \
            p.max_records
        view, _positions = sample_view(data, ctx, cap)
        n = view.n
        # Vendi on TF-IDF (not LSA, whose few dimensions cap it) unless embeddings are in use;
        # asked for before the LSA vectors, which then reuse it
        tfidf = None if source == "embeddings" else ctx.artifact("tfidf", view)
        vectors = record_vectors(view, ctx, source)
        k = choose_k(n, p.max_clusters)
        model = MiniBatchKMeans(n_clusters=k, random_state=ctx.seed, n_init=1,
                                batch_size=2048, max_iter=100)
        vendi_rows = sample_positions(n, p.vendi_sample, ctx.rng(self.name))
        vendi_space = vectors if tfidf is None else tfidf
        # one thread for the clustering and the eigenvalues: on shared cores more OpenMP and
        # BLAS threads spin against each other (and results do not depend on the core count)
        with ctx.progress("Clustering records", None), threadpool_limits(1):
            assignment = model.fit_predict(vectors)
            vendi = vendi_score(vendi_space[vendi_rows])
        sizes = np.bincount(assignment, minlength=k)
        shares = np.sort(sizes)[::-1] / n
        effective = entropy_effective_number(sizes)
        tiny_cut = max(2, int(np.ceil(p.tiny_cluster_fraction * n)))
        tiny = [int(c) for c in np.flatnonzero((sizes > 0) & (sizes < tiny_cut))]
        metrics.update({
            "effective_clusters": effective, "cluster_evenness": effective / k,
            "largest_cluster_share": float(shares[0]), "top3_cluster_share": float(shares[:3].sum()),
            "vendi_score": vendi, "vendi_ratio": vendi / len(vendi_rows),
            "n_tiny_clusters": float(len(tiny)), "k": float(k)})
        texts = view.prompts if view.has_prompt else view.texts("text")
        clusters = self._describe(model.cluster_centers_, vectors, assignment, sizes, texts)
        ids = view.ids
        findings: list[Finding] = []
        largest = int(np.argmax(sizes))
        findings.append(Finding(
            check=self.name, code="largest_cluster", severity=Severity.INFO,
            message=f"the largest of {k} clusters holds {shares[0]:.0%} of records "
                    f"(e.g. {clusters[largest]['example']!r})",
            metric="largest_cluster_share", value=float(shares[0]),
            records=tuple(int(ids[i]) for i in np.flatnonzero(assignment == largest)),
            n_records=int(sizes[largest])))
        if tiny:
            members = np.flatnonzero(np.isin(assignment, tiny))
            findings.append(Finding(
                check=self.name, code="tiny_clusters", severity=Severity.INFO,
                message=f"{len(tiny)} cluster(s) have fewer than {tiny_cut} records: task "
                        "families too small to learn (collect more, or drop them)",
                metric="n_tiny_clusters", value=float(len(tiny)),
                records=tuple(int(ids[i]) for i in members), n_records=len(members),
                details={"clusters": [clusters[c] for c in tiny[:20]]}))
        order = np.argsort(-sizes, kind="stable")
        return Measurement(metrics=metrics, findings=tuple(findings), details={
            "vector_source": source, "k": k, "vendi_sample": len(vendi_rows),
            "records": data.n, "sampled_records": n, "sampled": data.n > n,
            "largest_clusters": [clusters[int(c)] for c in order[:10]]})

    @staticmethod
    def _describe(centers: np.ndarray, vectors: np.ndarray, assignment: np.ndarray,
                  sizes: np.ndarray, texts: tuple[str, ...]) -> list[dict[str, Any]]:
        """Per cluster: size and the record nearest its centre as an example."""
        out = []
        for c, center in enumerate(centers):
            members = np.flatnonzero(assignment == c)
            if not len(members):
                out.append({"cluster": c, "size": 0, "example": ""})
                continue
            best = members[int(np.argmax(vectors[members] @ center))]
            out.append({"cluster": c, "size": int(sizes[c]), "example": snippet(texts[best])})
        return out


@register
class TaskCoverage(Check):
    """Distribution over task types, flagging dominant and rare ones.

    Task types come from the dataset's category field when there is one (the `label` column of
    instruction data), else from the prompt's leading instruction verb or question word (a small
    project-authored lexicon: summarisation, extraction, code, open QA...). A dominant type means
    the model will be tuned for it at the expense of the others; rare types have too few
    examples to be learnt and lexicon types with none are listed as missing. The lexicon is
    English: without a category field, data mostly in other languages is SKIPPED.
    """

    name = "task_coverage"
    category = "diversity"
    uses = frozenset({"language_sample"})
    requires = frozenset({Need.PROMPT, Need.RESPONSE})
    metrics = ("dominant_task_share", "effective_task_types", "n_task_types",
               "n_rare_task_types", "unmatched_fraction")
    default_thresholds = (Threshold(metric="dominant_task_share", warn=0.9),)

    @dataclass(frozen=True)
    class Params:
        source: str = param("auto", choices=("auto", "labels", "lexicon"),
                            doc="task types from the category/label field (auto: when present) "
                                "or the prompt lexicon")
        rare_fraction: float = param(0.01, ge=0, lt=1, doc="types below this share are rare")
        rare_min_records: int = param(10, ge=0, doc="... or with fewer records than this")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        p = self.params
        metrics = {m: float("nan") for m in self.metrics}
        use_labels = p.source == "labels" or (p.source == "auto" and data.has_labels)
        if use_labels and data.has_labels:
            types = ["(no label)" if label is None else label for label in data.labels]
            source = "labels"
            coverage = None
        else:
            coverage = language_coverage(data, ctx, check=self.name, field="prompt",
                                         what="an English task lexicon (task_types.json)",
                                         sample=COVERAGE_SAMPLE)
            lexicon = task_lexicon()
            types = [task_type(words(t[:300]), lexicon) for t in data.prompts]
            source = "lexicon"
        if not types:
            return Measurement(metrics=metrics, details={"source": source})
        counts = Counter(types)
        matched = {t: c for t, c in counts.items() if t != "other"}
        total = len(types)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        dominant, dominant_n = ranked[0]
        rare = sorted(t for t, c in matched.items()
                      if c / total < p.rare_fraction or c < p.rare_min_records)
        metrics.update({
            "dominant_task_share": dominant_n / total,
            "effective_task_types": entropy_effective_number(np.array(list(counts.values()))),
            "n_task_types": float(len(matched)), "n_rare_task_types": float(len(rare)),
            "unmatched_fraction": counts.get("other", 0) / total if source == "lexicon" else 0.0})
        details: dict[str, Any] = {
            "source": source,
            "distribution": {t: {"count": c, "share": round(c / total, 4)} for t, c in ranked[:50]},
        }
        if coverage is not None:
            details["language_coverage"] = coverage
        if source == "lexicon":
            details["missing"] = sorted({str(t["name"]) for t in task_lexicon()["types"]}
                                        - set(counts))
        ids = data.ids
        findings = []
        if total >= 10 and dominant_n / total >= 0.5:
            members = [int(ids[i]) for i, t in enumerate(types) if t == dominant]
            findings.append(Finding(
                check=self.name, code="dominant_task", severity=Severity.INFO,
                message=f"task type {dominant!r} makes up {dominant_n / total:.0%} of records",
                metric="dominant_task_share", value=dominant_n / total, records=tuple(members),
                n_records=len(members)))
        if rare:
            members = [int(ids[i]) for i, t in enumerate(types) if t in set(rare)]
            findings.append(Finding(
                check=self.name, code="rare_tasks", severity=Severity.INFO,
                message=f"{len(rare)} task type(s) have too few examples to be learnt: "
                        + ", ".join(f"{t} ({counts[t]})" for t in rare[:10]),
                metric="n_rare_task_types", value=float(len(rare)), records=tuple(members),
                n_records=len(members), details={"types": rare[:50]}))
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)
