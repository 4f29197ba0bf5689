"""botocore's view of config/credentials pairs, for tests/it/dialect.rs.

Reads case directories (each with `config` and `credentials`) from argv and
prints one JSON object per line: the parse error, or for every profile of
`Session.full_config['profiles']` its settings (string values; a nested
block as "<block>") and the credentials botocore would sign with, found
without any network call: the source keys of a role (AssumeRoleProvider
resolves them eagerly and defers only the STS call), else the credential
chain's answer (shared-credentials-file, config-file).
"""
import json
import os
import sys

import botocore.credentials
import botocore.exceptions
import botocore.session

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for var in list(os.environ):
    if var.startswith("AWS_") and var != "AWS_EC2_METADATA_DISABLED":
        del os.environ[var]


def creds_view(c):
    if c is None:
        return {"kind": "none"}
    return {
        "kind": "keys",
        "access_key": c.access_key,
        "token": c.token is not None and c.token != "",
        "method": getattr(c, "method", None),
    }


def role_source(creds):
    """The static keys at the root of a (chained) role's deferred credentials."""
    while isinstance(creds, botocore.credentials.DeferredRefreshableCredentials):
        refresh = creds._refresh_using
        fetcher = getattr(refresh, "__self__", None) or refresh._refresh.__self__
        creds = fetcher._source_credentials
    return creds


def profile_view(case, name):
    session = botocore.session.Session(profile=name)
    profile = session.full_config["profiles"][name]
    settings = {}
    for k, v in profile.items():
        settings[k] = v if isinstance(v, str) else "<block>"
    try:
        if "role_arn" in profile and "web_identity_token_file" not in profile:
            provider = session.get_component("credential_provider").get_provider(
                "assume-role"
            )
            deferred = provider.load()
            cv = creds_view(role_source(deferred))
            cv["role"] = True
        else:
            cv = creds_view(session.get_credentials())
            cv["role"] = False
    except Exception as e:  # botocore's refusal of the profile
        cv = {"kind": "error", "error": f"{type(e).__name__}: {e}"}
    return {"settings": settings, "credentials": cv}


def case_view(case):
    os.environ["AWS_CONFIG_FILE"] = os.path.join(case, "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(case, "credentials")
    os.environ["HOME"] = case
    try:
        names = list(botocore.session.Session().full_config["profiles"])
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
    return {"profiles": {n: profile_view(case, n) for n in names}}


for case in sys.argv[1:]:
    print(json.dumps(case_view(case)), flush=True)
