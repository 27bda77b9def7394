"""Read model parameters that arrive through a dbt model config.

dbt routes each var into a Python model's config (there is no ``dbt.var`` in
Python models on dbt-duckdb). A var usually arrives with its YAML type, but a
value given on the command line or quoted in YAML may arrive as text, so each
reader accepts both and names the config key when the value is unusable.
"""

from __future__ import annotations

import ast
import json

__all__ = [
    "as_int",
    "as_float",
    "as_bool",
    "as_str_list",
    "as_optional_str",
    "as_class_weight",
]

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_NONE = {"", "none", "null"}


def _reject(key, value, expected):
    raise ValueError(f"config {key} must be {expected}, got {value!r}")


def as_int(value, *, key, minimum=None):
    """A whole number, from an int or its text ("8")."""
    if isinstance(value, bool):
        _reject(key, value, "a whole number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        _reject(key, value, "a whole number")
    if not number.is_integer():
        _reject(key, value, "a whole number")
    number = int(number)
    if minimum is not None and number < minimum:
        _reject(key, value, f"a whole number of at least {minimum}")
    return number


def as_float(value, *, key, minimum=None, maximum=None):
    """A number, from a number or its text ("0.3")."""
    if isinstance(value, bool):
        _reject(key, value, "a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        _reject(key, value, "a number")
    if number != number:
        _reject(key, value, "a number")
    if minimum is not None and number < minimum:
        _reject(key, value, f"a number of at least {minimum}")
    if maximum is not None and number > maximum:
        _reject(key, value, f"a number of at most {maximum}")
    return number


def as_bool(value, *, key):
    """True or false, from a bool or text such as "true" / "False"."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    _reject(key, value, "true or false")


def as_str_list(value, *, key):
    """A non-empty list of names, from a list, a JSON or Python list literal,
    or comma-separated text."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    _reject(key, value, "a list of names")
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not value:
        _reject(key, value, "a non-empty list of names")
    names = [str(item).strip() for item in value]
    if any(not name for name in names):
        _reject(key, value, "a list of non-empty names")
    return names


def as_optional_str(value, *, key):
    """Text, or None for None / "" / "none" / "null"."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    return None if value.strip().lower() in _NONE else value.strip()


def as_class_weight(value, *, key):
    """ "balanced" or None (from None, "", "none" or "null")."""
    text = as_optional_str(value, key=key)
    if text is None:
        return None
    if text.lower() == "balanced":
        return "balanced"
    _reject(key, value, '"balanced" or none')
