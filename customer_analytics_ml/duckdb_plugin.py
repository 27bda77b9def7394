"""dbt-duckdb plugin: the keyed hash behind pseudonymized customer ids.

Registered in ``profiles/profiles.yml`` under the output's ``plugins:`` as
``- module: customer_analytics_ml.duckdb_plugin``. It adds these SQL
functions to every connection dbt opens (the macros in
``macros/pseudonymize_customer_id.sql`` call them; nothing else should):

``customer_analytics_pseudonym(customer_id varchar) -> varchar``
    HMAC-SHA256 of the id under the key, as 32 hex characters (128 bits).
``customer_analytics_event_id_salt() -> varchar``
    A secret derived from the key (HMAC of a fixed label), to prefix a raw
    row before its md5 so an event id cannot be recomputed from a guessed
    customer id and the row's other, visible values. DuckDB evaluates it
    once per query, so keyed event ids cost what plain md5 ids cost; the
    value does show in the query plan (EXPLAIN), which dbt does not log.
``customer_analytics_mask_raw_values(raw_values, customer_id) -> varchar``
    The raw row's JSON with every value equal to the customer id (after
    trimming) replaced by the id's pseudonym.
``customer_analytics_pseudonym_key_status() -> varchar``
    'ok', 'missing' or 'too_short', so a macro can stop the build with a clear
    message before any hashing happens.

The key is read from the environment variable CUSTOMER_ANALYTICS_PSEUDONYM_KEY
when a function runs. It never passes through Jinja, so it is not in compiled
SQL, in target/ or in dbt's logs.

Each distinct id is hashed once per batch of rows that DuckDB hands over
(2,048) and remembered in a bounded cache, so a customer's repeated events
cost one HMAC, not one each.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from dbt.adapters.duckdb.plugins import BasePlugin

__all__ = [
    "KEY_ENV_VAR",
    "MIN_KEY_LENGTH",
    "Plugin",
    "event_id_salt",
    "key_status",
    "mask_raw_values",
    "pseudonym",
]

KEY_ENV_VAR = "CUSTOMER_ANALYTICS_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 16
# Hex characters kept from the HMAC: 128 bits leave collisions negligible
# even for billions of ids, at the length of an md5.
_HEX_LENGTH = 32
# Distinct ids remembered across batches (about 250 bytes each).
_CACHE_SIZE = 2**18
# Different HMAC inputs for the two uses, so no customer id can hash to the
# event-id salt.
_ID_DOMAIN = b"customer_id\x00"
_EVENT_ID_LABEL = b"event_id_salt"


def key_status() -> str:
    """'ok', 'missing' or 'too_short' for the key in the environment."""
    key = os.environ.get(KEY_ENV_VAR, "")
    if not key.strip():
        return "missing"
    if len(key) < MIN_KEY_LENGTH:
        return "too_short"
    return "ok"


def _key() -> bytes:
    status = key_status()
    if status != "ok":
        raise ValueError(
            f"{KEY_ENV_VAR} is {status.replace('_', ' ')}: set it to a secret "
            f"of at least {MIN_KEY_LENGTH} characters to pseudonymize "
            "customer ids"
        )
    return os.environ[KEY_ENV_VAR].encode("utf-8")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _digest(key: bytes, domain: bytes, value: str) -> str:
    mac = hmac.digest(key, domain + value.encode("utf-8"), hashlib.sha256)
    return mac.hex()[:_HEX_LENGTH]


def pseudonym(customer_id: str | None) -> str | None:
    """The keyed hash of one customer id (None stays None)."""
    if customer_id is None:
        return None
    return _digest(_key(), _ID_DOMAIN, customer_id)


def _pseudonym_batch(customer_ids: pa.Array) -> pa.Array:
    """Pseudonyms of a batch of ids, each distinct id hashed once."""
    key = _key()
    encoded = pc.dictionary_encode(customer_ids)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    distinct_ids = encoded.dictionary.to_pylist()
    hashed = pa.array(
        [_digest(key, _ID_DOMAIN, value) for value in distinct_ids],
        type=pa.string(),
    )
    return pc.take(hashed, encoded.indices)


def event_id_salt() -> str:
    """The secret prefix of keyed event ids (32 hex characters)."""
    mac = hmac.digest(_key(), _EVENT_ID_LABEL, hashlib.sha256)
    return mac.hex()[:_HEX_LENGTH]


def mask_raw_values(raw_values: str | None, customer_id: str | None) -> str | None:
    """Replace the customer id inside a raw row's JSON by its pseudonym.

    Every top-level value that equals ``customer_id`` once trimmed (the
    staging models trim ids the same way) is replaced, whatever its column
    is called in the input. Text that is not a JSON object has every
    occurrence of the id replaced instead.
    """
    if raw_values is None or customer_id is None:
        return raw_values
    masked = pseudonym(customer_id)
    try:
        row = json.loads(raw_values)
    except ValueError:
        row = None
    if not isinstance(row, dict):
        return raw_values.replace(customer_id, masked)
    for name, value in row.items():
        if isinstance(value, str) and value.strip() == customer_id:
            row[name] = masked
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


class Plugin(BasePlugin):
    """Registers the pseudonymization functions on dbt's DuckDB connection."""

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        varchar = duckdb.sqltype("VARCHAR")
        conn.create_function(
            "customer_analytics_pseudonym_key_status",
            key_status,
            [],
            varchar,
            side_effects=True,
        )
        conn.create_function(
            "customer_analytics_pseudonym",
            _pseudonym_batch,
            [varchar],
            varchar,
            type="arrow",
            null_handling="special",
        )
        # No side effects: DuckDB folds it to a constant once per query.
        conn.create_function(
            "customer_analytics_event_id_salt", event_id_salt, [], varchar
        )
        conn.create_function(
            "customer_analytics_mask_raw_values",
            mask_raw_values,
            [varchar, varchar],
            varchar,
            null_handling="special",
        )
