"""The nearest-neighbour label probe: neighbours against a brute-force reference, the votes,
and its wiring into label_issues (averaged in, refit without the flagged records' votes)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

import checks.shared.neighbours as nbrs
from audit.context import RunContext
from audit.load import load_dataset
from checks.labels.label_issues import LabelIssuesCheck, audit_labels, refits
from checks.shared.neighbours import nearest, neighbour_matrix, neighbour_votes
from tests.checks.labels.test_label_noise import PLANTED, flipped, records


def brute_force(matrix: sparse.csr_matrix, voters: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference: dense all-pairs cosine, self and non-voters and zeros left out, then
    most similar first, ties to the lower index."""
    dense = (matrix @ matrix.T).toarray()
    n = dense.shape[0]
    neighbours = np.full((n, k), -1)
    similarities = np.zeros((n, k), dtype=np.float32)
    for i in range(n):
        found = [(-dense[i, j], j) for j in range(n) if j != i and voters[j] and dense[i, j] > 0]
        for rank, (negative, j) in enumerate(sorted(found)[:k]):
            neighbours[i, rank], similarities[i, rank] = j, -negative
    return neighbours, similarities


@pytest.mark.parametrize("chunk", [1, 7, 2000])
def test_nearest_matches_the_brute_force_reference(monkeypatch: pytest.MonkeyPatch,
                                                   chunk: int) -> None:
    monkeypatch.setattr(nbrs, "CHUNK", chunk)
    rng = np.random.default_rng(0)
    # few distinct values, so ties happen and must go to the lower index
    dense = rng.integers(0, 3, size=(40, 12)) * (rng.random((40, 12)) < 0.3)
    dense[5] = 0  # a row with no neighbours at all
    matrix = sparse.csr_matrix(dense.astype(np.float32))
    norms = np.sqrt(matrix.multiply(matrix).sum(axis=1)).A.ravel()
    matrix = sparse.csr_matrix(matrix.multiply(1 / np.maximum(norms, 1e-9)[:, None]))
    voters = rng.random(40) < 0.7
    steps: list[int] = []
    got = nearest(matrix, voters, k=4, advance=steps.append)
    want = brute_force(matrix, voters, 4)
    assert np.array_equal(got[0], want[0])
    assert np.allclose(got[1], want[1], atol=1e-6)
    assert (got[0][5] == -1).all() and (got[1][5] == 0).all()
    assert not np.isin(got[0], np.flatnonzero(~voters)).any()
    assert len(steps) == -(-40 // chunk)


def test_votes_weigh_neighbours_by_similarity_and_are_uniform_without_any() -> None:
    labels = np.array([0, 1, 1, 2])
    neighbours = np.array([[1, 3], [-1, -1]])
    similarities = np.array([[0.5, 0.25], [0.0, 0.0]], dtype=np.float32)
    votes = neighbour_votes(neighbours, similarities, labels, 3)
    # one pseudo-vote spread over 3 classes, + 0.5 for class 1 and 0.25 for class 2
    assert np.allclose(votes[0], np.array([1 / 3, 1 / 3 + 0.5, 1 / 3 + 0.25]) / 1.75)
    assert np.allclose(votes[1], 1 / 3)


def test_terms_in_too_many_records_are_not_used_for_similarity() -> None:
    texts = [f"common word{i % 150} shared{i % 2}" for i in range(300)]
    similar = (neighbour_matrix(texts) @ neighbour_matrix(texts).T).toarray()
    # 'common' (300 records) and shared0/shared1 (150 each) exceed the 100-record cap in
    # 300 records: records link only through their word{j} terms (records j and j + 150)
    linked = np.argwhere(similar > 1e-6)
    assert sorted({(int(a) % 150, int(b) % 150) for a, b in linked}) == [(j, j) for j in range(150)]
    assert neighbour_matrix(["alone", "words"]).nnz == 0  # nothing in two records


def test_neighbour_features_average_the_vote_into_the_tfidf_probe() -> None:
    view = load_dataset(flipped(records(), PLANTED), name="t")
    ctx = RunContext(view, seed=0)
    m = LabelIssuesCheck(features="tfidf+neighbours", refit=False).run(view, ctx)
    tfidf, votes = ctx.artifact("oof_predictions"), ctx.artifact("oof_neighbour_predictions")
    mean = (tfidf.probabilities + votes.probabilities) / 2
    assert m.metrics["probe_accuracy"] == float((mean.argmax(axis=1) == tfidf.labels).mean())
    assert "nearest neighbours" in m.details["probe"]["model"]
    assert set(m.findings[0].records) <= set(PLANTED) and len(m.findings[0].records) >= 4
    # the vote alone: planted records disagree with most of their neighbours
    given = votes.probabilities[np.arange(view.n), votes.labels]
    assert np.median(given[PLANTED]) < np.median(np.delete(given, PLANTED))


def test_excluded_records_cast_no_vote_but_are_predicted() -> None:
    from checks.shared.probe import neighbour_predictions

    rows = [{"text": "apple banana cherry", "label": "a"},
            {"text": "apple banana cherry", "label": "b"},
            {"text": "apple banana cherry", "label": "b"}]
    rows += [{"text": f"word{i} other{i // 2}", "label": "ab"[i % 2]} for i in range(20)]
    view = load_dataset(rows, name="t")
    ctx = RunContext(view, seed=0)
    votes = ctx.artifact("oof_neighbour_predictions")
    b = votes.classes.index("b")
    assert votes.probabilities[0, b] > 0.8  # both its neighbours say b
    exclude = np.zeros(view.n, dtype=bool)
    exclude[[1, 2]] = True
    refit = neighbour_predictions(view, ctx, exclude=exclude)
    assert np.allclose(refit.probabilities[0], 1 / len(votes.classes))  # no voter left
    assert refit.probabilities[1, votes.classes.index("a")] > 0.5  # predicted from record 0
    assert not np.isnan(refit.probabilities).any()


def test_the_neighbour_probe_is_refitted_with_the_tfidf_probe() -> None:
    view = load_dataset(flipped(records(), PLANTED), name="t")
    audit = audit_labels(view, RunContext(view, seed=0), features="tfidf+neighbours")
    assert audit.refitted > 0 and "nearest neighbours" in audit.oof.model
    flagged = set(audit.rows[audit.issues.flagged].tolist())
    assert flagged <= set(PLANTED) and len(flagged) >= 5


def test_only_probes_without_the_fine_tuned_encoder_are_refitted() -> None:
    assert refits("tfidf") and refits("tfidf+neighbours") and refits("both")
    assert not refits("finetuned") and not refits("finetuned+tfidf")
    assert not refits("finetuned+tfidf+neighbours")
