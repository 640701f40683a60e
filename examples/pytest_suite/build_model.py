"""The suite's model builder: a scikit-learn iris classifier, as a pickle and as JSON weights.

The fixture tests train the pickle per session (pickles are tied to library versions, so they
are built, not committed); ``iris-weights.json``, which the spec file deploys, is this model's
coefficients exported once with ``python build_model.py`` and committed as text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def train() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=500).fit(features, labels)


def build_pickle(path: Path) -> Path:
    """The model, saved with joblib (what score_iris.py loads)."""
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(train(), path)
    return path


def export_weights(path: Path) -> Path:
    """The model's coefficients as JSON (what score_linear.py loads; no numpy needed)."""
    model = train()
    weights = {
        "coef": [[round(float(w), 6) for w in row] for row in model.coef_],
        "intercept": [round(float(b), 6) for b in model.intercept_],
        "classes": [int(c) for c in model.classes_],
    }
    path.write_text(json.dumps(weights, indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    print(export_weights(HERE / "iris-weights.json"))
