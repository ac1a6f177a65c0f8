"""What every per-kind validator shares: the limits, the validation Context, and the generic shapes
(bounded lists, sets and maps, immutable fields, quantity fields).

Messages and field paths follow kube-apiserver (api.md §11) because clients match on them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubedra.api.errors import FieldError, Path, duplicate, invalid, too_many
from kubedra.api.features import DEFAULT_GATES, FeatureGates
from kubedra.api.quantity import Quantity, QuantityError

T = TypeVar("T")

# Limits (api.md §9).
DEVICE_MAX_DOMAIN_LENGTH = 63
DEVICE_MAX_ID_LENGTH = 32
POOL_NAME_MAX_LENGTH = 253
CEL_SELECTOR_EXPRESSION_MAX_LENGTH = 10 * 1024
OPAQUE_PARAMETERS_MAX_LENGTH = 10 * 1024
DEVICE_SELECTORS_MAX_SIZE = 32
DEVICE_CONFIG_MAX_SIZE = 32
DEVICE_TOLERATIONS_MAX_LENGTH = 16
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
ATTRIBUTE_KEY_MAX_LENGTH = DEVICE_MAX_DOMAIN_LENGTH + 1 + DEVICE_MAX_ID_LENGTH

TAINT_EFFECTS = ("NoExecute", "NoSchedule", "None")
TOLERATION_OPERATORS = ("Equal", "Exists")
FIELD_IMMUTABLE = "field is immutable"

# The CEL environment a selector is compiled in (injected compiler; see Context.compile_cel).
CEL_ENVIRONMENT_NEW = "new"
CEL_ENVIRONMENT_STORED = "stored"

CompileCEL = Callable[[str, str], "str | None"]


@dataclass
class Context:
    """What a validation run depends on besides the object itself."""

    gates: FeatureGates = field(default_factory=lambda: DEFAULT_GATES)
    compile_cel: CompileCEL | None = None
    namespace_labels: dict[str, str] | None = None
    # Objects already stored are trusted: CEL is not recompiled, raw parameters are not re-measured.
    stored: bool = False


# --- generic shapes ------------------------------------------------------------------------------


def validate_slice(
    items: Sequence[T] | None,
    max_size: int,
    validate_item: Callable[[T, Path], list[FieldError]],
    path: Path,
) -> list[FieldError]:
    """A bounded list: TooMany short-circuits (no per-item errors for oversized input)."""
    if not items:
        return []
    if 0 <= max_size < len(items):
        return [too_many(path, len(items), max_size)]
    errs: list[FieldError] = []
    for i, item in enumerate(items):
        errs.extend(validate_item(item, path.index(i)))
    return errs


def validate_set(
    items: Sequence[T] | None,
    max_size: int,
    validate_item: Callable[[T, Path], list[FieldError]],
    key: Callable[[T], Hashable],
    path: Path,
) -> list[FieldError]:
    """A bounded list whose keys must be unique: Duplicate on the later occurrence."""
    if not items:
        return []
    errs = validate_slice(items, max_size, validate_item, path)
    if 0 <= max_size < len(items):
        return errs
    errs.extend(duplicates((key(item) for item in items), path))
    return errs


def duplicates(keys: Iterable[Hashable], path: Path) -> list[FieldError]:
    """Duplicate for every repeat of an earlier key, at the repeat's index."""
    seen: set[Hashable] = set()
    errs: list[FieldError] = []
    for i, k in enumerate(keys):
        if k in seen:
            errs.append(duplicate(path.index(i), k))
        seen.add(k)
    return errs


def truncate_key(key: str, max_len: int) -> str:
    """Long map keys are shortened in the middle inside error paths, as upstream does."""
    max_len = max(max_len, 16)
    if len(key) <= max_len:
        return key
    remaining = max_len - 3
    return key[: (remaining + 1) // 2] + "..." + key[len(key) - remaining // 2 :]


def validate_map(
    items: dict[str, T] | None,
    max_size: int,
    truncate_len: int,
    validate_key: Callable[[str, Path], list[FieldError]],
    validate_item: Callable[[T, Path], list[FieldError]],
    path: Path,
) -> list[FieldError]:
    if not items:
        return []
    if 0 <= max_size < len(items):
        return [too_many(path, len(items), max_size)]
    errs: list[FieldError] = []
    for k, item in items.items():
        errs.extend(validate_key(k, path))
        errs.extend(validate_item(item, path.key(truncate_key(k, truncate_len))))
    return errs


def immutable(new: Any, old: Any, path: Path) -> list[FieldError]:
    if new != old:
        return [invalid(path, new, FIELD_IMMUTABLE)]
    return []


def parse_quantity(value: str | None, path: Path, errs: list[FieldError]) -> Quantity | None:
    """Parse a quantity field; a malformed one is reported at its path (upstream: a decode error)."""
    if value is None:
        return None
    try:
        return Quantity.parse(str(value))
    except QuantityError as exc:
        errs.append(invalid(path, str(value), str(exc)))
        return None
