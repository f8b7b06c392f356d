"""Secrets stored in the database (provider API keys) are encrypted at rest.

A stored secret is the JSON object `{"fernet": TOKEN}`: Fernet (AES-128-CBC with an HMAC-SHA256,
from `cryptography`) under a key derived by HKDF-SHA256 from `FIELD_ENCRYPTION_KEY`, which falls
back to `SECRET_KEY`. A database dump alone then yields no usable key.

Rotation: move the old value into `FIELD_ENCRYPTION_KEYS_OLD` and set the new one; every token
still opens (MultiFernet tries each key), and `manage.py reencrypt_secrets` re-encrypts them
under the new key, after which the old one can be dropped (README, "Rotate secrets").

Reading stays cheap: keys are derived once per configuration and a token is decrypted once per
process (a small cache keyed by the token), so a request pays a dictionary lookup.
"""

import base64
import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SEALED = "fernet"
# Separates these keys from any other use of the same secret (sessions, JWTs sign with it too).
_HKDF_INFO = b"photochanger/field-encryption/v1"


class UnreadableSecret(Exception):
    """A token none of the configured keys opens: the key it was sealed with is gone."""


def _derive(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


@functools.cache
def _keyring(current: str, old: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    primary = _derive(current)
    return primary, MultiFernet([primary, *(_derive(secret) for secret in old if secret)])


def _configured() -> tuple[Fernet, MultiFernet]:
    return _keyring(settings.FIELD_ENCRYPTION_KEY, tuple(settings.FIELD_ENCRYPTION_KEYS_OLD))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(SEALED), str)


def seal(plain: str) -> dict[str, str]:
    """The stored form of `plain`, encrypted under the current key."""
    return {SEALED: _configured()[1].encrypt(plain.encode()).decode("ascii")}


def unseal(value: Any) -> str:
    """The plain text of a stored secret; a plain string (not yet encrypted) is itself.

    Raises UnreadableSecret when no configured key opens it.
    """
    if not is_sealed(value):
        return value if isinstance(value, str) else ""
    plain = _open_token(
        settings.FIELD_ENCRYPTION_KEY, tuple(settings.FIELD_ENCRYPTION_KEYS_OLD), value[SEALED]
    )
    if plain is None:
        raise UnreadableSecret("no configured FIELD_ENCRYPTION_KEY opens this secret")
    return plain


@functools.lru_cache(maxsize=256)
def _open_token(current: str, old: tuple[str, ...], token: str) -> str | None:
    try:
        return _keyring(current, old)[1].decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def resealed(value: Any) -> dict[str, str] | None:
    """`value` sealed under the current key, or None when it already is (or holds nothing).

    A plain string is sealed; a token under an old key is re-encrypted. Raises UnreadableSecret.
    """
    if isinstance(value, str):
        return seal(value) if value else None
    if not is_sealed(value):
        return None
    primary, keyring = _configured()
    token = value[SEALED].encode()
    try:
        primary.decrypt(token)
    except InvalidToken:
        try:
            return {SEALED: keyring.rotate(token).decode("ascii")}
        except InvalidToken:
            raise UnreadableSecret("no configured FIELD_ENCRYPTION_KEY opens this secret") from None
    return None
