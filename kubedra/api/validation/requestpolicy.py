"""Validation of a consumable capacity's ``requestPolicy`` (api.md §4, gate DRAConsumableCapacity).

Comparisons are exact (kubedra.api.quantity) and the step arithmetic uses whole units unless a
value is fractional, mirroring how upstream decides between ``Value()`` and ``MilliValue()``.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubedra.api.errors import FieldError, Path, forbidden, invalid, required
from kubedra.api.quantity import Quantity
from kubedra.api.resource import CapacityRequestPolicy
from kubedra.api.validation.common import parse_quantity, validate_set

VALID_VALUES_MAX = 10
_INT64_MAX = (1 << 63) - 1


def validate_request_policy(
    capacity: Quantity, policy: CapacityRequestPolicy, path: Path
) -> list[FieldError]:
    if policy.valid_values and policy.valid_range is not None:
        return [
            forbidden(
                path,
                'exactly one policy can be specified, cannot specify "validValues" and "validRange" at the same time',
            )
        ]
    errs: list[FieldError] = []
    default = parse_quantity(policy.default, path.child("default"), errs)
    if policy.valid_values:
        if policy.default is None:
            errs.append(required(path.child("default"), "required when validValues is defined"))
        elif default is not None:
            errs.extend(_valid_values(default, capacity, policy.valid_values, path.child("validValues")))
    elif policy.valid_range is not None:
        if policy.default is None:
            errs.append(required(path.child("default"), "required when validRange is defined"))
        elif default is not None:
            errs.extend(_valid_range(default, capacity, policy, path.child("validRange")))
    return errs


def _valid_values(default: Quantity, capacity: Quantity, raw: Sequence[str], path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    values: list[Quantity] = []
    for i, text in enumerate(raw):
        q = parse_quantity(text, path.index(i), errs)
        if q is None:
            return errs
        values.append(q)
    for i in range(len(values) - 1):
        if values[i].cmp(values[i + 1]) > 0:
            errs.append(
                invalid(path.index(i + 1), str(values[i + 1]), "values must be sorted in ascending order")
            )
    found_default = False

    def option(q: Quantity, p: Path) -> list[FieldError]:
        nonlocal found_default
        out: list[FieldError] = []
        if q.cmp(capacity) > 0:
            out.append(invalid(p, str(q), f"option is larger than capacity value: {capacity}"))
        if q.cmp(default) == 0:
            found_default = True
        return out

    errs.extend(validate_set(values, VALID_VALUES_MAX, option, lambda q: q.value(), path))
    if not found_default:
        errs.append(invalid(path, str(default), "default value is not valid according to the requestPolicy"))
    return errs


def _valid_range(
    default: Quantity, capacity: Quantity, policy: CapacityRequestPolicy, path: Path
) -> list[FieldError]:
    assert policy.valid_range is not None
    rng = policy.valid_range
    errs: list[FieldError] = []
    if rng.min is None:
        return [required(path.child("min"), "required when validRange is defined")]
    lo = parse_quantity(rng.min, path.child("min"), errs)
    hi = parse_quantity(rng.max, path.child("max"), errs)
    step = parse_quantity(rng.step, path.child("step"), errs)
    if errs or lo is None:
        return errs
    if lo.cmp(capacity) > 0:
        errs.append(invalid(path.child("min"), str(lo), f"min is larger than capacity value: {capacity}"))
    if default.cmp(lo) < 0:
        errs.append(invalid(path.child("default"), str(default), f"default is less than min: {lo}"))
    if hi is not None:
        if lo.cmp(hi) > 0:
            errs.append(invalid(path.child("max"), str(lo), f"min is larger than max: {hi}"))
        if hi.cmp(capacity) > 0:
            errs.append(invalid(path.child("max"), str(hi), f"max is larger than capacity value: {capacity}"))
        if default.cmp(hi) > 0:
            errs.append(invalid(path.child("default"), str(default), f"default is more than max: {hi}"))
    if step is None:
        return errs
    if step.sign() <= 0:
        errs.append(invalid(path.child("step"), str(step), "must be greater than zero"))
        return errs
    first = lo + step
    if first.cmp(capacity) > 0:
        errs.append(
            invalid(
                path.child("step"), str(step), f"one step {first} is larger than capacity value: {capacity}"
            )
        )
    unsafe = False
    for name, q in (("default", default), ("min", lo), ("max", hi), ("step", step)):
        if q is None:
            continue
        if q.sign() < 0:
            errs.append(invalid(path.child(name), str(q), "must be greater than or equal to 0"))
            unsafe = True
        elif q.cmp(Quantity.from_int(_INT64_MAX)) > 0:
            errs.append(invalid(path.child(name), str(q), f"must not be larger than {_INT64_MAX}"))
            unsafe = True
    if unsafe:
        return errs
    errs.extend(_on_step(default, lo, step, path.child("step")))
    if hi is not None:
        errs.extend(_on_step(hi, lo, step, path.child("step")))
    return errs


def _on_step(value: Quantity, lo: Quantity, step: Quantity, path: Path) -> list[FieldError]:
    # Whole units (Value(), which rounds up) is what upstream uses with the fractional gate off.
    step_v, lo_v, val_v = step.value(), lo.value(), value.value()
    if step_v == 0 or (val_v - lo_v) % step_v != 0:
        return [invalid(path, str(value), f"value is not a multiple of a given step ({step}) from ({lo})")]
    return []
