"""The study's metric, as the study computed it, and the metrics.json contract."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from semaug.metrics import (class_order, classification_metrics, confusion_counts, evaluation_metrics,
                            normalized_accuracy, scores)

# Seed report, Tabela 5: MobileNet on CK+ without synthetic data, row-normalised (rows = true).
TABLE_5 = [
    [0.38, 0.00, 0.15, 0.15, 0.23, 0.00, 0.08],
    [0.21, 0.37, 0.16, 0.05, 0.11, 0.05, 0.05],
    [0.14, 0.00, 0.43, 0.07, 0.07, 0.07, 0.21],
    [0.22, 0.00, 0.11, 0.39, 0.06, 0.17, 0.06],
    [0.12, 0.04, 0.12, 0.08, 0.32, 0.08, 0.24],
    [0.38, 0.00, 0.15, 0.00, 0.00, 0.31, 0.15],
    [0.22, 0.11, 0.06, 0.11, 0.17, 0.06, 0.28],
]
# Tabela 9: MobileNet on MUG without synthetic data.
TABLE_9 = [
    [0.65, 0.07, 0.02, 0.09, 0.09, 0.09],
    [0.13, 0.45, 0.08, 0.13, 0.08, 0.15],
    [0.05, 0.07, 0.47, 0.16, 0.05, 0.21],
    [0.00, 0.09, 0.07, 0.67, 0.07, 0.11],
    [0.00, 0.05, 0.03, 0.10, 0.77, 0.05],
    [0.02, 0.08, 0.06, 0.17, 0.00, 0.67],
]


@pytest.mark.parametrize("table, reported", [(TABLE_5, 35.43), (TABLE_9, 61.33)])
def test_published_matrices_give_published_figures(table, reported):
    assert round(100 * normalized_accuracy(table), 2) == reported


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", range(5))
def test_counts_give_balanced_accuracy(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 6, 80)
    y_true[:3] = 6  # a small class, and one class (7) only ever predicted
    y_pred = np.where(rng.random(80) < 0.5, y_true, rng.integers(0, 8, 80))
    counts = confusion_matrix(y_true, y_pred, labels=range(8))
    assert counts[7].sum() == 0  # an empty row must be left out, as scikit-learn does
    assert normalized_accuracy(counts) == pytest.approx(balanced_accuracy_score(y_true, y_pred), abs=1e-12)


def test_count_row_of_one_sample_is_a_recall():
    # A count row summing to 1 is itself normalised: no ambiguity with printed tables.
    counts = np.array([[1, 0], [3, 1]])
    assert normalized_accuracy(counts) == pytest.approx((1 + 0.25) / 2)


def test_metrics_keys_and_orders():
    labels = ["b", "a", "c"]
    m = classification_metrics(["a", "a", "b", "c"], ["a", "b", "b", "b"], labels)
    assert m["labels"] == labels
    assert m["confusion"] == [[1, 0, 0], [1, 1, 0], [1, 0, 0]]  # rows true, columns pred, in `labels` order
    assert m["confusion_normalized"][1] == [0.5, 0.5, 0.0]
    assert m["accuracy"] == 0.5
    assert m["normalized_accuracy"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["per_class_recall"]["c"] == 0.0
    both = evaluation_metrics(["a"], ["a"], ["a", "b"], ["a", "a"], labels)
    assert both["accuracy"] == 1.0 and both["frames"]["accuracy"] == 0.5


def test_class_order():
    assert class_order({"format": "mug"}, ["sadness", "anger", "anger"]) == ["anger", "sadness"]
    assert class_order({"format": "folder"}, ["z", "a"]) == ["a", "z"]
    assert class_order({"format": "folder", "classes": ["z", "a"]}, ["a", "z"]) == ["z", "a"]


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", range(6))
def test_scores_are_scikit_learns(seed):
    # numpy scores (no scikit-learn import in a training job) = scikit-learn's, with a class
    # only predicted (8), one only true (7) and labels the confusion matrix leaves out
    rng = np.random.default_rng(seed)
    names = np.array([f"c{i}" for i in range(9)])
    y_true = rng.integers(0, 7, 60)
    y_true[:2] = 7
    y_pred = np.where(rng.random(60) < 0.4, y_true, rng.integers(0, 9, 60))
    y_pred[:2] = 0
    t, p = names[y_true].tolist(), names[y_pred].tolist()
    ours = scores(t, p)
    assert ours["accuracy"] == pytest.approx(accuracy_score(t, p), abs=1e-12)
    assert ours["normalized_accuracy"] == pytest.approx(balanced_accuracy_score(t, p), abs=1e-12)
    assert ours["macro_f1"] == pytest.approx(f1_score(t, p, average="macro", zero_division=0), abs=1e-12)
    labels = names[[3, 1, 0, 5]].tolist()
    assert confusion_counts(t, p, labels).tolist() == confusion_matrix(t, p, labels=labels).tolist()


def test_scores_reject_unpaired_labels():
    with pytest.raises(ValueError, match="need the same"):
        scores(["a", "b"], ["a"])


def test_training_imports_no_scikit_learn():
    import subprocess
    import sys

    code = ("import sys, semaug.training, semaug.metrics; "
            "print(any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
