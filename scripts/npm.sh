#!/usr/bin/env bash
# Installs (idempotently) the AWS SDK for JavaScript v3 packages the end-to-end
# suite runs as a client nobody here wrote: @aws-sdk/credential-providers
# (fromIni) and @aws-sdk/client-sts, pinned, with npm, and prints their versions.
#
#   scripts/npm.sh                  # into ./target/npm (git ignores target/)
#   MFA_EXEC_NPM=/tmp/n scripts/npm.sh
#
# Callers run node with NODE_PATH="$MFA_EXEC_NPM/node_modules". Re-running is
# cheap: the install step is skipped once the pinned versions are in. Needs
# Node.js 20 or later (the SDK's `engines`) and npm.
set -euo pipefail

CREDENTIAL_PROVIDERS_VERSION=3.1175.0
CLIENT_STS_VERSION=3.1177.0

dir=${MFA_EXEC_NPM:-$PWD/target/npm}
stamp="$dir/.mfa-exec-npm-$CREDENTIAL_PROVIDERS_VERSION-$CLIENT_STS_VERSION"

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "npm.sh: $tool not found (install Node.js 20 or later with npm)" >&2; exit 1; }
done
major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 20)); then
    echo "npm.sh: Node.js $(node --version) is too old for the AWS SDK for JavaScript v3 (needs 20 or later)" >&2
    exit 1
fi

if [[ ! -e "$stamp" ]]; then
    echo "npm: installing @aws-sdk/credential-providers@$CREDENTIAL_PROVIDERS_VERSION @aws-sdk/client-sts@$CLIENT_STS_VERSION into $dir" >&2
    mkdir -p "$dir"
    rm -f "$dir"/.mfa-exec-npm-*
    [[ -e "$dir/package.json" ]] || printf '{ "private": true }\n' >"$dir/package.json"
    npm install --prefix "$dir" --save-exact --no-audit --no-fund --loglevel=error \
        "@aws-sdk/credential-providers@$CREDENTIAL_PROVIDERS_VERSION" \
        "@aws-sdk/client-sts@$CLIENT_STS_VERSION" >&2
    touch "$stamp"
fi
NODE_PATH="$dir/node_modules" node -e '
for (const p of ["@aws-sdk/credential-providers", "@aws-sdk/client-sts"]) {
    console.log(`npm: ${p} ${require(`${p}/package.json`).version}`);
}
console.log(`npm: node ${process.version}`);
'
