"""Decoding manifests into models and encoding them back, with Kubernetes-style error paths.

msgspec does the work; this module adds what Kubernetes users expect on top: numbers accepted
where a quantity is expected, errors that name the field path (``spec.devices[3].name``) instead
of msgspec's ``$.spec.devices[3].name``, and detection of unknown fields for ``--strict``.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import msgspec

from kubedra.api import core, resource
from kubedra.api.quantity_field import QuantityStr

T = TypeVar("T")

# (apiVersion, kind) -> model for the kinds kubedra types; other kinds stay plain dicts.
KINDS: dict[tuple[str, str], type[Any]] = {
    (resource.API_VERSION, "DeviceClass"): resource.DeviceClass,
    (resource.API_VERSION, "ResourceSlice"): resource.ResourceSlice,
    (resource.API_VERSION, "ResourceClaim"): resource.ResourceClaim,
    (resource.API_VERSION, "ResourceClaimTemplate"): resource.ResourceClaimTemplate,
    ("v1", "Node"): core.Node,
    ("v1", "Pod"): core.Pod,
}


class DecodeError(ValueError):
    """A manifest does not fit the schema; ``path`` is the Kubernetes field path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _dec_hook(typ: type, obj: Any) -> Any:
    if typ is QuantityStr:
        if isinstance(obj, bool):
            raise ValueError("quantity must be a string or a number")
        if isinstance(obj, (int, float, str)):
            return QuantityStr(obj if isinstance(obj, str) else json.dumps(obj))
    raise NotImplementedError(f"cannot decode {typ!r}")


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, str):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj)!r}")


_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _kube_path(msgspec_path: str) -> str:
    path = msgspec_path.lstrip(".")
    # msgspec writes map keys as [...]; Kubernetes writes them as [key]: keep them but unquote.
    return re.sub(r"\[\"?([^\]\"]*)\"?\]", r"[\1]", path)


def _translate(exc: msgspec.ValidationError) -> DecodeError:
    text = str(exc)
    match = _PATH.search(text)
    if not match:
        return DecodeError("", text)
    message = text[: match.start()]
    message = re.sub(r"Expected `([^`]*)`, got `([^`]*)`", r"expected \1, got \2", message)
    return DecodeError(_kube_path(match.group("path")), message)


def decode(model: type[T], data: bytes | str | dict[str, Any]) -> T:
    """Decode JSON bytes/str or an already-parsed mapping into ``model``; raises DecodeError."""
    try:
        if isinstance(data, (bytes, str)):
            return msgspec.json.decode(data, type=model, dec_hook=_dec_hook)
        return msgspec.convert(data, model, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise _translate(exc) from None
    except msgspec.DecodeError as exc:
        raise DecodeError("", f"malformed JSON: {exc}") from None


def to_dict(obj: Any) -> Any:
    """Encode a model (or list/dict of models) into plain JSON-compatible builtins."""
    return msgspec.to_builtins(obj, enc_hook=_enc_hook)


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)


def to_json(obj: Any) -> bytes:
    return _encoder.encode(obj)


def model_for(api_version: str, kind: str) -> type[Any] | None:
    return KINDS.get((api_version, kind))


def decode_object(data: dict[str, Any]) -> Any:
    """Decode a v1 object by its apiVersion/kind; raises DecodeError for kinds kubedra does not type."""
    model = model_for(str(data.get("apiVersion", "")), str(data.get("kind", "")))
    if model is None:
        raise DecodeError("", f"no model for {data.get('apiVersion')}/{data.get('kind')}")
    return decode(model, data)


def unknown_fields(original: Any, model: type[Any]) -> list[str]:
    """Field paths present in ``original`` that ``model`` does not declare (for ``--strict``).

    Decoding drops unknown fields silently; walking the manifest beside the decoded object and
    the model's declared JSON names finds exactly the fields that would be lost — the set
    kube-apiserver's strict decoding reports — whatever their values (``0`` and ``false`` too).
    """
    return _unknown(original, decode(model, original), "")


def _unknown(original: Any, decoded: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(decoded, msgspec.Struct) and isinstance(original, dict):
        info = msgspec.structs.fields(decoded)
        by_json = {f.encode_name: f.name for f in info}
        for key, value in original.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in by_json:
                found.append(sub)
            else:
                found.extend(_unknown(value, getattr(decoded, by_json[key]), sub))
    elif isinstance(decoded, dict) and isinstance(original, dict):
        for key, value in original.items():
            if key in decoded:
                found.extend(_unknown(value, decoded[key], f"{path}[{key}]"))
    elif isinstance(decoded, list) and isinstance(original, list):
        for index, (a, b) in enumerate(zip(original, decoded, strict=False)):
            found.extend(_unknown(a, b, f"{path}[{index}]"))
    return found
