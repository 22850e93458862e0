"""API keys with secrets the tests know, made as ApiKey.create makes them (only the hash
is stored), so a server started with the secret finds them again after each test's flush."""

from core.models import ApiKey
from core.models.apikeys import KEY_PREFIX, PREFIX_CHARS, hash_key

#: A read-write key named "ops-bot" and a read-only one named "viewer".
READ_WRITE = KEY_PREFIX + "mcpwrite" + "w" * 35
READ_ONLY = KEY_PREFIX + "mcpreadx" + "r" * 35


def make_key(secret: str, name: str, *, can_write: bool, created_by=None) -> ApiKey:
    """The key of ``secret`` (made again if a flush removed it)."""
    key, _ = ApiKey.objects.update_or_create(
        prefix=secret[: len(KEY_PREFIX) + PREFIX_CHARS],
        defaults={
            "name": name,
            "key_hash": hash_key(secret),
            "can_write": can_write,
            "created_by": created_by,
            "revoked_at": None,
        },
    )
    return key


def make_keys() -> None:
    make_key(READ_WRITE, "ops-bot", can_write=True)
    make_key(READ_ONLY, "viewer", can_write=False)
