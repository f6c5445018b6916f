"""Typed readers for environment settings that fail loudly on a bad value.

Each helper raises ImproperlyConfigured naming the variable, so a typo in a deployment
stops the process at start instead of running with a silent default.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}.")
    return value


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a finite number.")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}.")
    return value


def env_choice(name: str, default: str, *, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """Comma-separated addresses or networks (CIDR), checked; none when unset."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network (like 10.0.0.5 or 10.0.0.0/24)."
            ) from None
    return networks


def env_time_zone(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={value!r} is not a known time zone.") from None
    return value


def env_url(name: str, default: str) -> str:
    value = os.environ.get(name, default).rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{name}={value!r} must start with http:// or https://.")
    return value


def decode_key(text: str, *, length: int = 32) -> bytes:
    """A key of `length` random bytes written in urlsafe base64 (`=` padding optional);
    ValueError saying what is wrong otherwise."""
    value = text.strip()
    value += "=" * (-len(value) % 4)
    try:
        key = base64.b64decode(value, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not urlsafe base64 (A-Z a-z 0-9 - _)") from None
    if len(key) != length:
        raise ValueError(f"{len(key)} bytes, not {length}")
    return key


def env_key(name: str, *, length: int = 32) -> bytes | None:
    """A key of `length` bytes in urlsafe base64 (decode_key), or None when unset."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return None
    try:
        return decode_key(raw, length=length)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name} is not a key of {length} bytes in urlsafe base64 ({exc}); make one with "
            f"python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom({length})).decode())'"
        ) from None


def env_keys(name: str, *, length: int = 32) -> list[bytes]:
    """A comma-separated list of keys (env_key); empty when unset."""
    keys = []
    for position, raw in enumerate(os.environ.get(name, "").split(","), start=1):
        if not raw.strip():
            continue
        try:
            keys.append(decode_key(raw, length=length))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name}: key {position} is not a key of {length} bytes in urlsafe base64 ({exc})."
            ) from None
    return keys


def data_dir(name: str = "CREWCALL_DATA_DIR") -> Path:
    """The folder that holds the embedded database and the generated secret key."""
    raw = os.environ.get(name)
    if raw:
        path = Path(raw).expanduser()
    else:
        from platformdirs import user_data_path

        path = user_data_path("crewcall", appauthor=False)
    path = path.resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}={str(path)!r} cannot be created: {exc}") from None
    return path


def secret_key(folder: Path, name: str = "CREWCALL_SECRET_KEY") -> str:
    """The secret key from the environment, else one generated once and kept in `folder`."""
    raw = os.environ.get(name)
    if raw is not None:
        if len(raw) < 32:
            raise ImproperlyConfigured(f"{name} must be at least 32 characters long.")
        return raw
    key_file = folder / "secret_key"
    if not key_file.exists():
        # Write a complete file aside, then link it into place: link() refuses to replace an
        # existing file, so two processes starting at once agree on the first key written.
        tmp = folder / f".secret_key.{os.getpid()}"
        tmp.write_text(secrets.token_urlsafe(50) + "\n")
        tmp.chmod(0o600)
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    value = key_file.read_text().strip()
    if len(value) < 32:
        raise ImproperlyConfigured(f"{key_file} holds no usable secret key.")
    return value
