"""The exception hierarchy: every core error kind maps to its own class."""

from __future__ import annotations

import mlas
from mlas._mlas import ERROR_CLASSES

KINDS = {
    "validation": mlas.ValidationError,
    "not_found": mlas.NotFoundError,
    "conflict": mlas.ConflictError,
    "illegal_transition": mlas.IllegalTransitionError,
    "storage": mlas.StorageError,
    "provider": mlas.ProviderError,
    "integrity": mlas.IntegrityError,
}


def test_every_kind_maps_to_a_distinct_class() -> None:
    assert ERROR_CLASSES == KINDS
    classes = list(ERROR_CLASSES.values())
    assert len(set(classes)) == len(classes)
    for cls in classes:
        assert issubclass(cls, mlas.MlasError)
        assert cls is not mlas.MlasError


def test_classes_live_in_mlas_and_extend_the_builtin_families() -> None:
    for cls in [mlas.MlasError, *KINDS.values()]:
        assert cls.__module__ == "mlas"
        assert cls.__doc__
    assert issubclass(mlas.ValidationError, ValueError)
    assert issubclass(mlas.NotFoundError, LookupError)
    assert issubclass(mlas.MlasError, Exception)


def test_raised_errors_carry_their_kind(engine: mlas.Engine) -> None:
    try:
        engine.affiliate("nobody", tenant="org-123")
    except mlas.NotFoundError as e:
        assert e.kind == "not_found"
        assert e.retryable is False
        assert "nobody" in str(e)
    else:  # pragma: no cover
        raise AssertionError("expected NotFoundError")
