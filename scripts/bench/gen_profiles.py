#!/usr/bin/env python3
"""Writes an AWS config and credentials file pair of N profiles for the scale
benchmark (stdlib only).

The seed layout (`[testAccount]` with its long-term keys and device, `[profile
test]` using it as source) comes first, then N-2 filler users, each a long-term
key pair in the credentials file and a `[profile userNNNNN]` with an
`mfa_serial` and a region in the config file. The session of `test` is not
written here: the benchmark primes it with one real refresh against moto, which
adds `[test]` as the N-th section of the credentials file.

With `--heavy` (issue 24: the shape of a heavy user's files), every filler
profile has a device and a region in the config, its long-term keys in `[userNNNNN-long-term]` and a cached MFA
session in `[userNNNNN]` of the credentials file (key, secret, a 357-byte
session token, expiry, and mfa-exec's source and device markers, as
mfa-exec writes it): two credentials sections per profile.

usage: gen_profiles.py N DIR [--heavy]
"""
import os
import sys

SEED_CONFIG = (
    "[testAccount]\n"
    "mfa_arn = arn:aws:iam::123456789012:mfa/test\n"
    "\n"
    "[profile test]\n"
    "user_arn = arn:aws:iam::123456789012:user/test\n"
    "source_profile = testAccount\n"
    "region = ap-northeast-2\n"
)
SEED_CREDENTIALS = (
    "[testAccount]\n"
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
)


def main() -> None:
    n, out = int(sys.argv[1]), sys.argv[2]
    heavy = "--heavy" in sys.argv[3:]
    os.makedirs(out, mode=0o700, exist_ok=True)
    cfg, cred = [SEED_CONFIG], [SEED_CREDENTIALS]
    for i in range(max(n - 2, 0)):
        name = f"user{i:05d}"
        if heavy:
            serial = f"arn:aws:iam::{100000000000 + i}:mfa/{name}"
            cfg.append(
                f"\n[profile {name}]\n"
                f"mfa_serial = {serial}\n"
                "region = eu-west-1\n"
            )
            cred.append(
                f"\n# filler profile {i}\n[{name}-long-term]\n"
                f"aws_access_key_id = AKIA{i:016d}\n"
                f"aws_secret_access_key = {('%040d' % i)}\n"
                f"\n[{name}]\n"
                f"aws_access_key_id = ASIA{i:016d}\n"
                f"aws_secret_access_key = {('%040d' % (i + 1))}\n"
                f"aws_session_token = {('FwoGZXIvYXdzE' + '%08d' % i) * 17}\n"
                "x_security_token_expires = 2099-01-01T00:00:00Z\n"
                f"x_mfa_exec_source = {name}\n"
                f"x_mfa_exec_serial = {serial}\n"
            )
            continue
        cfg.append(
            f"\n[profile {name}]\n"
            f"mfa_serial = arn:aws:iam::{100000000000 + i}:mfa/{name}\n"
            "region = eu-west-1\n"
        )
        cred.append(
            f"\n# filler profile {i}\n[{name}]\n"
            f"aws_access_key_id = AKIA{i:016d}\n"
            f"aws_secret_access_key = {('%040d' % i)}\n"
        )
    with open(os.path.join(out, "config"), "w") as f:
        f.write("".join(cfg))
    path = os.path.join(out, "credentials")
    with open(path, "w") as f:
        f.write("".join(cred))
    os.chmod(path, 0o600)


if __name__ == "__main__":
    main()
