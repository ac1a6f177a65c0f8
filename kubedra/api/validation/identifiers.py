"""The name formats DRA adds on top of Kubernetes' (pool names, attribute and capacity names, UIDs).

Separate from ``kubedra.api.names`` because these return FieldErrors at a path, built from those checks.
"""

from __future__ import annotations

import uuid

from kubedra.api import names
from kubedra.api.errors import FieldError, Path, invalid, required, too_long
from kubedra.api.validation.common import DEVICE_MAX_ID_LENGTH, POOL_NAME_MAX_LENGTH


def validate_pool_name(name: str, path: Path) -> list[FieldError]:
    if not name:
        return [required(path)]
    errs: list[FieldError] = []
    if len(name) > POOL_NAME_MAX_LENGTH:
        errs.append(too_long(path, POOL_NAME_MAX_LENGTH))
    for part in name.split("/"):
        errs.extend(names.validate_dns1123_subdomain(part, path))
    return errs


def validate_c_identifier(value: str, path: Path) -> list[FieldError]:
    errs: list[FieldError] = []
    if len(value) > DEVICE_MAX_ID_LENGTH:
        errs.append(too_long(path, DEVICE_MAX_ID_LENGTH))
    errs.extend(invalid(path, value, msg) for msg in names.is_c_identifier(value))
    return errs


def validate_qualified_name(name: str, path: Path) -> list[FieldError]:
    """Attribute/capacity names: ``id`` or ``domain/id`` (api.md §4 "Names")."""
    parts = name.split("/")
    if len(parts) == 1:
        return validate_c_identifier(parts[0], path)
    if len(parts) > 2:
        return [invalid(path, name, "must not contain more than one slash")]
    errs: list[FieldError] = []
    domain, ident = parts
    if not domain:
        errs.append(invalid(path, "", "the domain must not be empty"))
    else:
        errs.extend(names.validate_driver_name(domain, path))
    if not ident:
        errs.append(invalid(path, "", "the name must not be empty"))
    else:
        errs.extend(validate_c_identifier(ident, path))
    return errs


def validate_fully_qualified_name(name: str, path: Path) -> list[FieldError]:
    errs = validate_qualified_name(name, path)
    if "/" not in name:
        errs.append(
            invalid(path, name, "a fully qualified name must be a domain and a name separated by a slash")
        )
    return errs


def validate_uid(uid: str, path: Path) -> list[FieldError]:
    try:
        uuid.UUID(uid)
    except ValueError:
        return [invalid(path, uid, f"error validating uid: invalid UUID format: {uid!r}")]
    if len(uid) != 36 or uid != uid.lower():
        return [
            invalid(
                path,
                uid,
                "uid must be in RFC 4122 normalized form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` "
                "with lowercase hexadecimal characters",
            )
        ]
    return []


def validate_node_name(name: str, path: Path) -> list[FieldError]:
    return [invalid(path, name, msg) for msg in names.is_dns1123_subdomain(name)]
