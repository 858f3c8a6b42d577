"""Who is looking at the dashboard, and what they may decide.

Sign-in is Streamlit's own OpenID Connect (`st.login`, Authlib): `recon dashboard` writes the
`[auth]` section Streamlit reads from these settings (never committed, a private file for the
server's lifetime), or Streamlit's own `.streamlit/secrets.toml` holds it:

- RECON_OIDC_METADATA_URL: the identity provider's `.well-known/openid-configuration` URL;
  unset: no sign-in, the dashboard is read-only (and says so);
- RECON_OIDC_CLIENT_ID, RECON_OIDC_CLIENT_SECRET: the dashboard's client at the provider;
- RECON_DASHBOARD_URL: the address people open (default http://localhost:<port>);
  `<it>/oauth2callback` is the redirect URI registered at the provider;
- RECON_COOKIE_SECRET: signs the sign-in cookie (default: random per start, so a restart
  signs everyone out);
- RECON_ROLE_CLAIM: an ID-token claim holding the role (a role name, or a list such as
  groups; unset: none);
- RECON_ROLES_FILE: the reviewed roles file, e-mail -> reviewer or approver (default
  `access/roles.yml`).

The role: the claim RECON_ROLE_CLAIM when it is set and the ID token carries it (a list
grants its highest role), else the user's e-mail in the roles file, else viewer: everyone
the company's identity provider lets in may read the findings, only the people named may
decide (docs/DECISIONS.md).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROLES = ("viewer", "reviewer", "approver")  # each one can do what the one before it can read
ROLE_WORDS = {
    "viewer": "viewer (reads)",
    "reviewer": "reviewer (proposes and disputes)",
    "approver": "approver (approves and accepts)",
}


class RolesFileError(ValueError):
    """The roles file cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Person:
    """Who the page is shown to. `signed_in` is False in the read-only mode (no identity
    provider configured) and before sign-in."""

    email: str | None
    name: str | None
    role: str
    role_from: str  # 'claim NAME', the roles file's path, 'default' or 'no sign-in'
    signed_in: bool

    @property
    def may_decide(self) -> bool:
        return self.signed_in and self.role != "viewer" and bool(self.email)


# --------------------------------------------------------------------------- settings
def oidc_configured(env: Mapping[str, str] | None = None) -> bool:
    return bool((env if env is not None else os.environ).get("RECON_OIDC_METADATA_URL"))


def auth_secrets_toml(port: int, env: Mapping[str, str] | None = None) -> str:
    """The `[auth]` section of Streamlit's secrets for the RECON_OIDC_* settings."""
    env = env if env is not None else os.environ
    missing = [
        name for name in ("RECON_OIDC_CLIENT_ID", "RECON_OIDC_CLIENT_SECRET") if not env.get(name)
    ]
    if missing:
        raise ValueError(
            f"RECON_OIDC_METADATA_URL is set but {' and '.join(missing)} is not: the dashboard's "
            "client at the identity provider needs both"
        )
    base = (env.get("RECON_DASHBOARD_URL") or f"http://localhost:{port}").rstrip("/")
    values = {
        "redirect_uri": f"{base}/oauth2callback",
        "cookie_secret": env.get("RECON_COOKIE_SECRET") or secrets.token_hex(32),
        "client_id": env["RECON_OIDC_CLIENT_ID"],
        "client_secret": env["RECON_OIDC_CLIENT_SECRET"],
        "server_metadata_url": env["RECON_OIDC_METADATA_URL"],
    }
    # a JSON string is a TOML basic string (same escapes)
    lines = ["[auth]", *(f"{key} = {json.dumps(value)}" for key, value in values.items())]
    return "\n".join(lines) + "\n"


def roles_file() -> Path:
    """RECON_ROLES_FILE (relative to the project), default access/roles.yml: not in
    resolutions/, whose .yml files dbt would read as seed properties."""
    from recon.config import _path

    return _path("RECON_ROLES_FILE", "access/roles.yml")


# --------------------------------------------------------------------------- roles
def read_roles(path: Path) -> dict[str, str]:
    """The roles file: {e-mail (lower case): role}. A missing file names nobody; a wrong one
    is refused whole (RolesFileError), never half read."""
    if not path.exists():
        return {}
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RolesFileError(f"{path} is not valid YAML: {error}") from error
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise RolesFileError(f"{path} must map e-mail addresses to roles (email: reviewer)")
    roles: dict[str, str] = {}
    for email, role in content.items():
        word = str(role).strip().lower()
        if not isinstance(email, str) or "@" not in email:
            raise RolesFileError(f"{path}: {email!r} is not an e-mail address")
        if word not in ROLES:
            raise RolesFileError(
                f"{path}: {email}: {role!r} is not a role (one of {', '.join(ROLES)})"
            )
        roles[email.strip().lower()] = word
    return roles


def role_from_claim(value: Any) -> str | None:
    """A claim's role: a role name, or the highest role named in a list (groups)."""
    values = value if isinstance(value, list | tuple) else [value]
    named = [str(item).strip().lower() for item in values]
    found = [role for role in ROLES if role in named]
    return found[-1] if found else None


def person_from_claims(
    claims: Mapping[str, Any], role_claim: str | None, roles: Mapping[str, str], roles_path: Path
) -> Person:
    """The signed-in person's role from their ID token's claims (see the module's doc)."""
    email = claims.get("email")
    email = str(email).strip() if email else None
    name = claims.get("name")
    if role_claim and role_claim in claims:
        role = role_from_claim(claims[role_claim])
        if role:
            return Person(email, name, role, f"claim {role_claim}", True)
    if email and email.lower() in roles:
        return Person(email, name, roles[email.lower()], str(roles_path), True)
    return Person(email, name, "viewer", "default", True)


def read_only_person() -> Person:
    return Person(None, None, "viewer", "no sign-in", False)
