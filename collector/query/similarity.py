"""Texts grouped by similarity: TF-IDF vectors (scikit-learn), nearest known centroid, else agglomerative clustering.

Used by the failure clusters (clusters.py) within one signature. A text joins the known centroid
it is most like, if at least :data:`SIMILARITY` (cosine); the texts that join none are clustered
among themselves (average linkage over cosine distance, cut at ``1 - SIMILARITY``) and each new
group gets a centroid: its members' mean TF-IDF vector, kept as its top terms and their weights,
so a later call compares its texts with it whatever its own vocabulary.

Failures repeat: the same error with another order id or amount. Texts are reduced to their words
(numbers and ids dropped, English stop words out) and the distinct ones are vectorized once, with
their counts as weights; a word in fewer than :data:`MIN_SHARE` of the texts is left out (see
``_tfidf``); agglomerative clustering, quadratic in its input, sees at most
:data:`MAX_AGGLOMERATE` distinct texts at a time (the most frequent); the rest join the groups those
make, or go to the next round. Nothing is downloaded: the vectorizer and its stop words ship with
scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
from scipy import sparse
from sklearn import cluster as _cluster  # pyright: ignore[reportMissingTypeStubs]
from sklearn import preprocessing as _preprocessing  # pyright: ignore[reportMissingTypeStubs]
from sklearn.feature_extraction import text as _text  # pyright: ignore[reportMissingTypeStubs]

# scikit-learn's own annotations are partial (and narrower than what it takes, e.g. an analyzer callable).
_Agglomerative: Any = cast(Any, _cluster).AgglomerativeClustering
_CountVectorizer: Any = cast(Any, _text).CountVectorizer
_normalize: Any = cast(Any, _preprocessing).normalize

__all__ = ["MAX_AGGLOMERATE", "MIN_SHARE", "SIMILARITY", "Centroid", "Grouping", "group_texts"]

SIMILARITY: Final = 0.5
MAX_AGGLOMERATE: Final = 1500
CENTROID_TERMS: Final = 50
MIN_SHARE: Final = 0.02
SHOWN_TERMS: Final = 8
# Words of two letters or more: numbers, ids and amounts differ between failures of one kind.
_TOKEN: Final = r"(?u)\b[^\W\d_]{2,}\b"


@dataclass(frozen=True, slots=True)
class Centroid:
    """A group's centre: its top terms and their weights (a unit vector over those terms; none for empty texts)."""

    terms: tuple[str, ...]
    weights: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Grouping:
    """Where each text went: ``labels[i]`` indexes the known centroids, then ``new`` (after them).

    ``terms`` gives each label that has texts the words that mark them most (their mean TF-IDF).
    """

    labels: list[int]
    new: list[Centroid]
    terms: dict[int, list[str]]


def _analyzer() -> Any:
    # The words of a text as the clustering reads them: lower case, stop words out.
    return _CountVectorizer(token_pattern=_TOKEN, stop_words="english").build_analyzer()


def _tfidf(docs: list[str], counts: Any) -> tuple[Any, Any]:
    """Unit TF-IDF rows for the distinct ``docs`` (space-separated words), each standing for ``counts`` texts;
    and the vocabulary.

    The document frequencies count texts, not distinct texts, so a word's weight is what it is among
    the failures. A word in fewer than :data:`MIN_SHARE` of them (a customer's name, an order's
    reference) is left out: IDF would make it the heaviest word of its text, and no two texts
    would look alike.
    """
    counter: Any = _CountVectorizer(analyzer=str.split, dtype=np.float64)
    tf: Any = sparse.csr_matrix(counter.fit_transform(docs))
    vocabulary = counter.get_feature_names_out()
    present = tf.copy()
    present.data[:] = 1.0
    df = np.asarray(present.T @ counts).ravel()
    total = float(counts.sum())
    keep = np.flatnonzero(df >= max(1.0, MIN_SHARE * total))
    tf = sparse.csr_matrix(tf[:, keep])
    tf.data = 1.0 + np.log(tf.data)  # sublinear: a word said twice is not twice the evidence
    idf = np.log((1.0 + total) / (1.0 + df[keep])) + 1.0
    weighted = sparse.csr_matrix(tf @ sparse.diags(idf))
    return _normalize(weighted), vocabulary[keep]


def _centroid(rows: Any, counts: Any, vocabulary: Any) -> tuple[Centroid, Any]:
    """The count-weighted mean of ``rows`` (sparse, unit rows) as a unit vector: its Centroid and the dense vector."""
    mean = np.asarray(rows.T @ counts).ravel()
    norm = float(np.linalg.norm(mean))
    if norm == 0.0:
        return Centroid((), ()), mean
    mean = mean / norm
    top = np.argsort(-mean, kind="stable")[:CENTROID_TERMS]
    top = top[mean[top] > 0]
    kept = mean[top]
    kept = kept / float(np.linalg.norm(kept))
    return Centroid(tuple(str(vocabulary[i]) for i in top), tuple(float(w) for w in kept)), mean


def _known_matrix(known: Sequence[Centroid], index: dict[str, int], width: int) -> Any:
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    for row, centroid in enumerate(known):
        for term, weight in zip(centroid.terms, centroid.weights, strict=True):
            col = index.get(term)
            if col is not None:
                rows.append(row)
                cols.append(col)
                data.append(weight)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(known), width), dtype=np.float64)


def _agglomerate(rows: Any) -> Any:
    """Labels 0..m-1 for the (unit) ``rows``: average linkage over cosine distance, cut at 1 - SIMILARITY."""
    if rows.shape[0] == 1:
        return np.zeros(1, dtype=np.int64)
    distance: Any = 1.0 - np.asarray((rows @ rows.T).todense())
    distance[distance < 0.0] = 0.0  # rounding: a text against itself
    np.fill_diagonal(distance, 0.0)
    # n_clusters=None with a threshold: as many groups as the threshold makes (scikit-learn's types say int).
    model: Any = _Agglomerative(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - SIMILARITY
    )
    return model.fit_predict(distance)


def group_texts(texts: Sequence[str], weights: Sequence[int], known: Sequence[Centroid]) -> Grouping:
    """Group ``texts`` (failures of one signature; ``weights[i]`` failures said ``texts[i]``): each to the
    known centroid it is most like, the rest into new groups (see the module docstring)."""
    raw, raw_inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    analyze = _analyzer()
    reduced: dict[str, int] = {}
    raw_to_doc = np.empty(len(raw), dtype=np.int64)
    for i, text in enumerate(raw):
        words = " ".join(analyze(str(text)))
        raw_to_doc[i] = reduced.setdefault(words, len(reduced))
    text_doc = raw_to_doc[raw_inverse]
    docs = list(reduced)
    counts = np.bincount(text_doc, weights=np.asarray(weights, dtype=np.float64), minlength=len(docs))
    matrix: Any
    if any(docs):
        matrix, vocabulary = _tfidf(docs, counts)
    else:
        matrix = sparse.csr_matrix((len(docs), 0), dtype=np.float64)
        vocabulary = np.asarray([], dtype=object)
    index = {str(term): i for i, term in enumerate(vocabulary)}
    empty = np.asarray(matrix.getnnz(axis=1) == 0)

    doc_label = np.full(len(docs), -1, dtype=np.int64)
    centroids: list[Centroid] = list(known)
    if known:
        scores = np.asarray((matrix @ _known_matrix(known, index, len(vocabulary)).T).todense())
        best = scores.argmax(axis=1)
        hit = scores[np.arange(len(docs)), best] >= SIMILARITY
        doc_label[hit] = best[hit]
    # Texts with no words left are alike: they join the known group without terms, else one new group.
    blank = next((i for i, c in enumerate(known) if not c.terms), None)
    if empty.any():
        if blank is None:
            blank = len(centroids)
            centroids.append(Centroid((), ()))
        doc_label[empty] = blank

    while (doc_label < 0).any():
        waiting = np.flatnonzero(doc_label < 0)
        seeds = waiting[np.argsort(-counts[waiting], kind="stable")[:MAX_AGGLOMERATE]]
        seed_labels = _agglomerate(matrix[seeds])
        vectors: list[Any] = []
        for group in range(int(seed_labels.max()) + 1):
            members = seeds[seed_labels == group]
            centroid, vector = _centroid(matrix[members], counts[members], vocabulary)
            doc_label[members] = len(centroids)
            centroids.append(centroid)
            vectors.append(vector)
        rest = np.flatnonzero(doc_label < 0)
        if rest.size:
            scores = np.asarray(matrix[rest] @ np.column_stack(vectors))
            best = scores.argmax(axis=1)
            hit = scores[np.arange(rest.size), best] >= SIMILARITY
            first_new = len(centroids) - len(vectors)
            doc_label[rest[hit]] = first_new + best[hit]

    labels = doc_label[text_doc]
    # Each label's mean TF-IDF at once: a (labels x docs) matrix of counts times the docs' rows.
    used, doc_group = np.unique(doc_label, return_inverse=True)
    members = sparse.csr_matrix((counts, (doc_group, np.arange(len(docs)))), shape=(len(used), len(docs)))
    means = np.asarray((members @ matrix).todense())
    terms: dict[int, list[str]] = {}
    for row, label in enumerate(used):
        top = np.argsort(-means[row], kind="stable")[:SHOWN_TERMS]
        terms[int(label)] = [str(vocabulary[i]) for i in top if means[row, i] > 0]
    return Grouping([int(x) for x in labels], centroids[len(known) :], terms)
