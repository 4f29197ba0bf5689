#!/usr/bin/env bash
# Installs the .deb that scripts/package.sh built, uses it as a user would,
# and removes it again. Root only (dpkg -i); .ci/run runs it after the tests.
#
#   scripts/package-check.sh        # prints "ok - ..." lines; exits 1 on the first failure
#
# Checks: dpkg -i; `command -v mfa-exec` is /usr/bin/mfa-exec and runs;
# `man -w mfa-exec` finds the gzipped page in man1; bash-completion's own
# loader finds /usr/share/bash-completion/completions/mfa-exec and its
# function completes a profile name from a throwaway HOME's AWS files (zsh and
# fish files are listed by dpkg -L and parsed by their shells when present);
# dpkg -L lists every file of the package's contract; dpkg -r removes them all.
# The tarball is checked too: every file of the .deb is in it, at its PREFIX path.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target=$root/$target ;; esac
out=$target/package

fail() { echo "not ok - $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

[[ "$(id -u)" == 0 ]] || fail "package-check needs root (dpkg -i)"
deb=$(ls -t "$out"/mfa-exec_*.deb 2>/dev/null | head -1)
[[ -n "$deb" ]] || fail "no .deb under $out (run scripts/package.sh)"
tarball=$(ls -t "$out"/mfa-exec-*.tar.gz 2>/dev/null | head -1)
[[ -n "$tarball" ]] || fail "no tarball under $out (run scripts/package.sh)"

files=(
    /usr/bin/mfa-exec
    /usr/share/man/man1/mfa-exec.1.gz
    /usr/share/bash-completion/completions/mfa-exec
    /usr/share/zsh/vendor-completions/_mfa-exec
    /usr/share/fish/vendor_completions.d/mfa-exec.fish
    /usr/share/doc/mfa-exec/README.md
    /usr/share/doc/mfa-exec/LICENSE-MIT
    /usr/share/doc/mfa-exec/LICENSE-APACHE
    /usr/share/doc/mfa-exec/copyright
)

if dpkg -s mfa-exec >/dev/null 2>&1; then
    fail "mfa-exec is already installed from a package here; not touching it"
fi
[[ ! -e /usr/bin/mfa-exec ]] || fail "/usr/bin/mfa-exec exists before the install"

# Depends: only what the binary links (dpkg-shlibdeps via cargo-deb's $auto).
depends=$(dpkg-deb -f "$deb" Depends)
echo "# Depends: $depends"
extra=$(echo "$depends" | tr ',' '\n' | sed 's/(.*)//; s/ //g' | grep -vxE 'libc6|libgcc-s1' || true)
[[ -z "$extra" ]] || fail "the package depends on more than libc: $extra"
ok "depends only on libc6/libgcc-s1"

dpkg -i "$deb" >/dev/null || fail "dpkg -i $deb"
trap 'dpkg -r mfa-exec >/dev/null 2>&1 || true' EXIT
ok "dpkg -i $(basename "$deb")"

listed=$(dpkg -L mfa-exec)
for f in "${files[@]}"; do
    grep -qxF "$f" <<<"$listed" || fail "dpkg -L does not list $f"
    [[ -f "$f" ]] || fail "$f is listed but not on disk"
done
ok "dpkg -L lists all ${#files[@]} files"

[[ "$(command -v mfa-exec)" == /usr/bin/mfa-exec ]] || fail "command -v mfa-exec: $(command -v mfa-exec || echo none)"
/usr/bin/mfa-exec --version | grep -q '^mfa-exec ' || fail "mfa-exec --version"
ok "command -v mfa-exec is /usr/bin/mfa-exec and runs"

page=$(man -w mfa-exec) || fail "man -w mfa-exec"
[[ "$page" == /usr/share/man/man1/mfa-exec.1.gz ]] || fail "man -w mfa-exec: $page"
zcat "$page" | grep -q '^\.TH' || fail "$page is not a gzipped man page"
ok "man -w mfa-exec: $page"

# bash: bash-completion loads the script on demand, the function completes
# a profile name read from the AWS files of a throwaway HOME.
home=$(mktemp -d)
mkdir -p "$home/.aws"
printf '[profile packaged-prof]\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n' >"$home/.aws/config"
printf '[packaged-prof]\naws_access_key_id = AKIAPACKAGE0000TEST1\naws_secret_access_key = s\n' >"$home/.aws/credentials"
got=$(env -i PATH=/usr/bin:/bin HOME="$home" bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    _completion_loader mfa-exec 2>/dev/null || __load_completion mfa-exec
    spec=$(complete -p mfa-exec) || exit 3
    fn=$(sed -n "s/.* -F \([^ ]*\) .*/\1/p" <<<"$spec")
    COMP_WORDS=(mfa-exec packa); COMP_CWORD=1; COMP_LINE="mfa-exec packa"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9
    "$fn" mfa-exec packa mfa-exec
    printf "%s\n" "${COMPREPLY[@]}"
') || fail "bash-completion did not load or run the mfa-exec completion"
rm -rf "$home"
grep -qx 'packaged-prof' <<<"$(sed 's/ *$//' <<<"$got")" || fail "bash completion of 'mfa-exec packa': got: $got"
ok "bash-completion completes 'mfa-exec packa' to packaged-prof"

if command -v zsh >/dev/null; then
    zsh -n /usr/share/zsh/vendor-completions/_mfa-exec || fail "zsh cannot parse _mfa-exec"
    ok "zsh parses /usr/share/zsh/vendor-completions/_mfa-exec"
fi
if command -v fish >/dev/null; then
    fish --no-execute /usr/share/fish/vendor_completions.d/mfa-exec.fish || fail "fish cannot parse mfa-exec.fish"
    ok "fish parses /usr/share/fish/vendor_completions.d/mfa-exec.fish"
fi

# The tarball holds the same files at their PREFIX paths.
tl=$(tar -tzf "$tarball")
for f in bin/mfa-exec share/man/man1/mfa-exec.1.gz share/bash-completion/completions/mfa-exec \
    share/zsh/site-functions/_mfa-exec share/fish/vendor_completions.d/mfa-exec.fish \
    share/doc/mfa-exec/README.md share/doc/mfa-exec/LICENSE-MIT share/doc/mfa-exec/LICENSE-APACHE; do
    grep -qE "^[^/]+/$f\$" <<<"$tl" || fail "tarball lacks $f"
done
ok "tarball $(basename "$tarball") holds every file"

dpkg -r mfa-exec >/dev/null || fail "dpkg -r mfa-exec"
trap - EXIT
for f in "${files[@]}"; do
    [[ ! -e "$f" ]] || fail "$f is still there after dpkg -r"
done
[[ -z "$(command -v mfa-exec || true)" ]] || fail "mfa-exec still on PATH after dpkg -r"
ok "dpkg -r mfa-exec removed every file"
