#!/usr/bin/env python3
"""Writes BENCHMARKS.md from the raw results of scripts/bench.sh (stdlib only).

usage: report.py RESULTS_DIR MFA_EXEC_BIN VENV OUT_MD
"""
import datetime
import importlib.metadata as md
import json
import os
import platform
import statistics
import subprocess
import sys

RES, BIN, VENV, OUT = sys.argv[1:5]


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def read(name: str, default: str = "") -> str:
    p = os.path.join(RES, name)
    return open(p).read().strip() if os.path.exists(p) else default


def hf(name: str) -> dict:
    """hyperfine results by command name."""
    with open(os.path.join(RES, name)) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


def ms(x: float) -> str:
    x *= 1000
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def pkg(name: str) -> str:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "?"


def ok(met: bool) -> str:
    return "**met**" if met else "**missed**"


run = dict(line.split("=", 1) for line in read("run.env").splitlines() if "=" in line)
quick = run.get("quick") == "1"
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem_kb = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
commit = sh("git", "-C", root, "rev-parse", "--short", "HEAD")
dirty = sh("git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--", "src", "Cargo.toml", "Cargo.lock")

out = []
w = out.append

# ------------------------------------------------------------------ figures
c1 = hf("1-cached.json")
c1f = hf("1-cached-fast.json")
me = c1f["mfa-exec test -- true"]["median"]
tr = c1f["/bin/true"]["median"]
am_name = "aws-mfa --profile test (still valid)"
aw_name = "awsumepy testAccount (cached)"
am = c1[am_name]["median"]
aw = c1[aw_name]["median"]

sizes = [10, 100, 1000, 10000]
kinds = ["cached", "list", "explain"]
# scale[kind][n] and before[kind][n]: hyperfine results (before: BENCH_BEFORE's binary).
scale = {k: {n: hf(f"2-scale-{k}-{n}.json")[f"{k}, {n} profiles"] for n in sizes} for k in kinds}
before = {k: {n: hf(f"2-scale-{k}-{n}.json").get(f"{k}, {n} profiles, before") for n in sizes} for k in kinds}
has_before = all(before[k][n] for k in kinds for n in sizes)
scale_c, scale_l = scale["cached"], scale["list"]
cached_n = {n: scale_c[n]["median"] for n in sizes}
list_n = {n: scale_l[n]["median"] for n in sizes}
explain_n = {n: scale["explain"][n]["median"] for n in sizes}
me_before = c1f.get("mfa-exec test -- true (before)", {}).get("median")

r_me = hf("3-refresh-mfa-exec.json")
r_me = next(iter(r_me.values()))
r_am = next(iter(hf("3-refresh-aws-mfa.json").values()))
r_aw = next(iter(hf("3-refresh-awsume.json").values()))


def sts_rows(name: str):
    rows = []
    for line in read(name).splitlines():
        a, t = line.split("\t")
        rows.append((a, float(t) / 1000))
    return rows


sts_me = sts_rows("3-sts-mfa-exec.tsv")
sts_am = sts_rows("3-sts-aws-mfa.tsv")
sts_aw = sts_rows("3-sts-awsume.tsv")
rt = statistics.median(t for a, t in sts_me if a == "GetSessionToken")
overhead = r_me["median"] - rt
inv_me = int(read("3-invocations-mfa-exec.txt"))
inv_am = int(read("3-invocations-aws-mfa.txt"))
inv_aw = int(read("3-invocations-awsume.txt"))
gst = lambda rows: sum(1 for a, _ in rows if a == "GetSessionToken")
single = int(read("3-requests-single.txt"))
single_all = int(read("3-requests-single-all.txt"))

stampede = []
for line in read("4-stampede.tsv").splitlines():
    r, us, g, allreq, fails = line.split("\t")
    stampede.append((int(r), int(us) / 1e6, int(g), int(allreq), int(fails)))

rss = {}
for line in read("5-rss.tsv").splitlines():
    name, kb = line.split("\t")
    rss.setdefault(name, []).append(int(kb))

binary = int(read("binary-bytes.txt", "0"))

targets = [
    ("cached path within 2 ms of `/bin/true` (median)",
     f"{ms(me - tr)} ms slower ({ms(me)} vs {ms(tr)} ms)", me - tr <= 0.002),
    ("cached path ≥ 80× faster than aws-mfa's cached run",
     f"{am / me:.0f}× ({ms(am)} vs {ms(me)} ms)", am / me >= 80),
    ("cached path with 1,000 profiles ≤ 5 ms", f"{ms(cached_n[1000])} ms", cached_n[1000] <= 0.005),
    ("`list` with 1,000 profiles ≤ 50 ms", f"{ms(list_n[1000])} ms", list_n[1000] <= 0.050),
    ("refresh overhead beyond the STS round trip ≤ 50 ms",
     f"{ms(overhead)} ms ({ms(r_me['median'])} ms refresh − {ms(rt)} ms round trip)", overhead <= 0.050),
    ("1 STS request per refresh",
     f"{single} alone; {gst(sts_me)} in {inv_me} hyperfine refreshes",
     single == 1 and single_all == 1 and gst(sts_me) == inv_me),
    (f"1 STS request per stampede of {run.get('stampede_n')}",
     "per round: " + ", ".join(str(s[2]) for s in stampede),
     bool(stampede) and all(s[2] == 1 and s[4] == 0 for s in stampede)),
]

goals17 = [
    ("cached path at 10,000 profiles ≤ 1.5× its time at 10",
     f"{cached_n[10000] / cached_n[10]:.2f}× ({ms(cached_n[10000])} vs {ms(cached_n[10])} ms)",
     cached_n[10000] <= 1.5 * cached_n[10]),
    ("cached path at 1,000 profiles ≤ 1.2× its time at 10",
     f"{cached_n[1000] / cached_n[10]:.2f}× ({ms(cached_n[1000])} vs {ms(cached_n[10])} ms)",
     cached_n[1000] <= 1.2 * cached_n[10]),
    ("`list` at 10,000 profiles ≤ 40 ms", f"{ms(list_n[10000])} ms", list_n[10000] <= 0.040),
    ("`explain` at 10,000 profiles ≤ 1.5× at 10",
     f"{explain_n[10000] / explain_n[10]:.2f}× ({ms(explain_n[10000])} vs {ms(explain_n[10])} ms)",
     explain_n[10000] <= 1.5 * explain_n[10]),
]
goals17.append(("release binary ≤ 7 MB (issue 24)", f"{binary / 1e6:.2f} MB", 0 < binary <= 7e6))
if me_before:
    goals17.append(("overhead of the cached path over `/bin/true` at or below the earlier tree's",
                    f"{ms(me - tr)} ms (earlier tree: {ms(me_before - tr)} ms; same run)",
                    me - tr <= me_before - tr))

# ------------------------------------------------------------------ text
w("# Benchmarks")
w("")
w("Generated by `bash scripts/bench.sh` (do not edit by hand: the script rewrites this")
w("file on every run). Raw hyperfine JSON/Markdown, the STS request logs and the")
w("strace summaries land in `target/bench-results/`.")
if quick:
    w("")
    w("> **BENCH_QUICK=1: a smoke-test run with few iterations; do not quote these figures.**")
w("")
w("## Summary")
w("")
w(f"- The cached path (`mfa-exec test -- true`: parse both files, check the expiry, exec)")
w(f"  takes **{ms(me)} ms** at the median, **{ms(me - tr)} ms** more than `/bin/true`")
w(f"  ({ms(tr)} ms).")
w(f"- That is **{am / me:.0f}× faster than aws-mfa's \"still valid\" run** ({ms(am)} ms) and")
w(f"  **{aw / me:.0f}× faster than `awsumepy testAccount` from its cache** ({ms(aw)} ms).")
w(f"- Growth with the size of the files: cached path {ms(cached_n[10])} → {ms(cached_n[10000])} ms and")
w(f"  `list` {ms(list_n[10])} → {ms(list_n[10000])} ms from 10 to 10,000 profiles.")
w(f"- A forced refresh against local moto takes {ms(r_me['median'])} ms, of which the STS round")
w(f"  trip is {ms(rt)} ms: **{ms(overhead)} ms** of mfa-exec's own work (aws-mfa: {ms(r_am['median'])} ms).")
w(f"- One STS request per refresh; {run.get('stampede_n')} concurrent stale runs make "
  f"{', '.join(sorted({str(s[2]) for s in stampede}))} request per round.")
w(f"- Peak memory: cached path {max(rss['mfa-exec cached']) / 1024:.1f} MiB, refresh "
  f"{max(rss['mfa-exec refresh']) / 1024:.1f} MiB (aws-mfa cached {max(rss['aws-mfa cached']) / 1024:.0f} MiB).")
w("")
w("## Targets (issue 8)")
w("")
w("| target | measured | |")
w("|---|---|---|")
for t, m, met in targets:
    w(f"| {t} | {m} | {ok(met)} |")
w("")
w("## Targets (issue 17: scale)")
w("")
w("Same-run ratios from section 2 (this tree)" + (", with the earlier tree measured in the same hyperfine runs." if has_before else "."))
w("")
w("| target | measured | |")
w("|---|---|---|")
for t, m, met in goals17:
    w(f"| {t} | {m} | {ok(met)} |")
w("")

w("Why the scale goals are missed with the heavy files (callgrind, 10,000 profiles, 9.3 MB")
w("of config + credentials, measured 2026-12-03): the cached path spends about 55M of its")
w("62M instructions in the read path's scan, which checks every line of both files (about")
w("170,000 lines) so that a malformed line anywhere is still reported as today, and takes")
w("about 2,800 page faults for the 9 MB read buffer; 1.5× its time at 10 profiles would")
w("mean not checking the lines outside the three sections it needs, which drops today's")
w("errors. `list` resolves every one of its 10,000 rows as a run would (about 98,000")
w("instructions a profile: resolution 54 %, reading the cached session 21 %, the")
w("destination's overwrite check 18 %); 40 ms would need a resolver that shares work")
w("across profiles.")
w("")

w("## Machine and versions")
w("")
w("| | |")
w("|---|---|")
w(f"| date (UTC) | {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')} |")
w(f"| CPU | {cpu}, {os.cpu_count()} cores (`nproc`: {sh('nproc')}) |")
w(f"| memory | {mem_kb / 1024 / 1024:.0f} GiB |")
w(f"| kernel | {platform.system()} {platform.release()} |")
w(f"| load average at the end of the run | {run.get('loadavg', '?')} |")
w(f"| mfa-exec | `{sh(BIN, '--version')}` (release profile: fat LTO, opt-level \"s\", stripped), tree {commit}{' (src modified)' if dirty else ''} |")
w(f"| mfa-exec binary | {binary / 1024 / 1024:.2f} MiB |")
w(f"| rustc | `{os.environ.get('MFA_EXEC_RUSTC_VERSION') or sh('rustc', '--version')}` |")
w(f"| hyperfine | `{sh('hyperfine', '--version')}` |")
w(f"| Python | {platform.python_version()} (venv `{os.path.relpath(VENV, root)}`) |")
w(f"| aws-mfa | {pkg('aws-mfa')} |")
w(f"| awsume | {pkg('awsume')} |")
w(f"| moto | {pkg('moto')} |")
w(f"| awscli | {pkg('awscli')} (botocore {pkg('botocore')}) |")
w("")
w("## Set-up")
w("")
w("- Every tool gets its own throwaway HOME; all inherited `AWS_*` variables are unset.")
w("  mfa-exec's HOME holds the seed layout (`[testAccount]` with `mfa_arn` and the long-term")
w("  keys, `[profile test]` with `source_profile = testAccount`), with `AWS_CONFIG_FILE` and")
w("  `AWS_SHARED_CREDENTIALS_FILE` pointed into it.")
w("- aws-mfa's HOME has its layout: `[test-long-term]` with the keys and `aws_mfa_device`.")
w("  aws-mfa reads `~/.aws/credentials` only (hard-coded from `HOME`); it decides \"still")
w("  valid\" from the `expiration` key of `[test]` (`%Y-%m-%d %H:%M:%S`, UTC) after checking")
w("  that `[test]` has all six keys it writes. Its STS client honours botocore's")
w("  `AWS_ENDPOINT_URL_STS`, so it was primed by one real call to moto (code on stdin).")
w("- awsume's HOME: `[profile testAccount]` with `mfa_serial` in the config (awsume reads")
w("  neither the bare `[testAccount]` config section nor `mfa_arn`: with the seed layout it")
w("  returns the long-term keys without MFA). Primed with `awsumepy testAccount --mfa-token")
w("  123456` against moto; its cache is `~/.awsume/cache/aws-credentials-<key id>` (JSON with")
w("  `Expiration`). `awsume` itself is a shell function that evals the output of the Python")
w("  entry point `awsumepy`; `awsumepy` is what is timed (the shell part is negligible).")
w("- The peers are started as `env HOME=... AWS_CONFIG_FILE=... AWS_SHARED_CREDENTIALS_FILE=...")
w("  <tool>` (one extra exec of `env`, well under 1 ms); mfa-exec and `/bin/true` are run")
w("  directly. hyperfine runs with `-N` (no shell) except where a command reads stdin.")
w("- STS is `moto_server` on 127.0.0.1 behind `scripts/bench/sts_proxy.py`, a stdlib reverse")
w("  proxy that logs the `Action=` of every POST and the time from request to response;")
w("  every tool gets it as `AWS_ENDPOINT_URL_STS`. The cached runs were checked to make no")
w("  request at all. moto accepts any code and returns the same keys every time.")
w(f"- Warm-up {run.get('warmup')} runs per command; release build took {run.get('build_seconds')} s"
  f" (incremental if the target dir existed); the whole script {run.get('total_seconds')} s.")
w("")


def table(rows, with_rel=None):
    w("| command | median (ms) | mean ± σ (ms) | min … max (ms) | runs |" + (" × " + with_rel[0] + " |" if with_rel else ""))
    w("|---|---:|---:|---:|---:|" + ("---:|" if with_rel else ""))
    for name, r in rows:
        line = (f"| `{name}` | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'] or 0)} | "
                f"{ms(r['min'])} … {ms(r['max'])} | {len(r['times'])} |")
        if with_rel:
            line += f" {r['median'] / with_rel[1]:.1f} |"
        w(line)
    w("")


w("## 1. Cached path")
w("")
w("All four side by side in one hyperfine run (`-N`), then mfa-exec and `/bin/true` again on")
w(f"their own with at least {run.get('quick') == '1' and 10 or 300} runs (sub-millisecond commands need many runs);")
w("the targets use the second run. aws-mfa and awsumepy only print or check credentials, they")
w("do not run a command; mfa-exec also execs `true`.")
w("")
table([(n, c1[n]) for n in c1], with_rel=("mfa-exec", c1["mfa-exec test -- true"]["median"]))
table([(n, c1f[n]) for n in c1f])
w(f"Ratios of medians: aws-mfa / mfa-exec = **{am / me:.0f}×**, awsumepy / mfa-exec = "
  f"**{aw / me:.0f}×**, mfa-exec − `/bin/true` = **{ms(me - tr)} ms**.")
w("")

# ------------------------------------------------------------------ 1b floor
fl = hf("1b-floor.json")
instr = dict(l.split("\t") for l in read("1b-instructions.tsv").splitlines() if "\t" in l)
faults = dict(l.split("\t") for l in read("1b-faults.tsv").splitlines() if "\t" in l)
bare = fl["mfa-exec test -- true"]["median"]
floor_rs = fl["floor: minimal Rust"]["median"]
w("## 1b. The floor (issue 24)")
w("")
w(f"One hyperfine run (`-N`, {run.get('floor_runs')} runs each, medians): `/bin/true`; two")
w("floor programs the script builds itself, which read both AWS files, find one section")
w("header and exec (`scripts/bench/floor.c`, `gcc -O2 -static`; `scripts/bench/floor.rs`,")
w("rustc with std and the release settings: opt-level s, codegen-units 1, panic abort,")
w("stripped); mfa-exec's cached path bare, with each main-form flag, and as `exec`.")
w("Instructions: callgrind's count of one run up to its exec (an `LD_PRELOAD` shim ends the")
w("process at exec; repeatable whatever else the machine does; the C row is its dynamic")
w("build). Faults: minor page faults of one run including the exec'd `true`.")
w("")
w("| command | median (ms) | − `/bin/true` (ms) | − bare (ms) | instructions | page faults |")
w("|---|---:|---:|---:|---:|---:|")
tr_f = fl["/bin/true"]["median"]
for name, r in fl.items():
    d_bare = f"{(r['median'] - bare) * 1000:+.2f}" if name.startswith("mfa-exec") else ""
    w(f"| `{name}` | {ms(r['median'])} | {(r['median'] - tr_f) * 1000:+.2f} | {d_bare} | "
      f"{int(instr[name]):,} | {faults.get(name, '?')} |" if instr.get(name, '?').isdigit() else
      f"| `{name}` | {ms(r['median'])} | {(r['median'] - tr_f) * 1000:+.2f} | {d_bare} | ? | {faults.get(name, '?')} |")
w("")
flag_rows = [n for n in fl if n.startswith("mfa-exec") and n != "mfa-exec test -- true" and "(" not in n]
worst = max(flag_rows, key=lambda n: fl[n]["median"])
w("| goal (issue 24) | measured | |")
w("|---|---|---|")
w(f"| cached path within 0.3 ms of the minimal Rust program | {(bare - floor_rs) * 1000:+.2f} ms "
  f"({ms(bare)} vs {ms(floor_rs)}) | {ok(bare - floor_rs <= 0.0003)} |")
w(f"| every main-form flag and `exec` within 0.1 ms of the bare form | worst `{worst}` "
  f"{(fl[worst]['median'] - bare) * 1000:+.2f} ms | {ok(all(fl[n]['median'] - bare <= 0.0001 for n in flag_rows))} |")
w("")

w("What was tried for the floor (issue 24), measured with callgrind on the cached path")
w("`test -- /bin/true` (instructions up to the exec; the same link object relinked for the")
w("link options; each count at the commit of that change, the tree's own count is in the")
w("table above), kept or not:")
w("")
w("| change | instructions | kept |")
w("|---|---:|---|")
w("| every main-form flag and `exec` on the command-line fast path (no clap command built) | a flag 1,448,201 → within 3,000 of the bare form | yes |")
w("| `#![no_main]`: no std `lang_start` (`pthread_getattr_np` reading `/proc/self/maps` with `sscanf`, a signal stack) | 1,000,023 → 871,388 | yes |")
w("| non-PIE link (`-no-pie`, `MFA_EXEC_NO_PIE=1`, build.rs): 12,377 relative relocations gone, ~50 fewer page faults | −170,000 | opt-in only: the executable loses ASLR and carries C TLS code (aws-lc) |")
w("| `-z pack-relative-relocs` (DT_RELR) | 999,980 → 967,348 | no: needs glibc ≥ 2.36 at run time (Ubuntu 22.04 has 2.35) for 3 % |")
w("| lazy binding (`-z lazy` instead of `-z now`) on top of non-PIE | 830,162 → 792,570 | no: gives up full RELRO for 4 % |")
w("| a static glibc binary (`+crt-static`) | not built | no: glibc's NSS (`getaddrinfo` for STS and proxies) needs the shared libraries at run time |")
w("")
w("What is left between mfa-exec and the minimal Rust program is the dynamic loader's")
w("work for a 6.5 MB binary (relocations and symbol binding: about 55 % of the instructions")
w("of a cached run at 10 profiles), building the child's environment through std's")
w("`Command` (about 90,000), and resolving the profile (about 70,000).")
w("")

w("## 2. Scale")
w("")
w("Medians; the growth is what matters here. ")
if run.get("shape") == "heavy":
    w("`scripts/bench/gen_profiles.py N --heavy` writes the seed layout plus N−2 filler users,")
    w("each with `mfa_serial` and a region in `[profile userNNNNN]` of the config, and two")
    w("credentials sections: the long-term keys in `[userNNNNN-long-term]` and a cached MFA")
    w("session in `[userNNNNN]` (key, secret, a 357-byte token, expiry, mfa-exec's markers); one")
    w("real refresh then adds `[test]`. Commands:")
else:
    w("`scripts/bench/gen_profiles.py N` writes the seed layout plus N−2 filler users (a key pair")
    w("in the credentials file, `[profile userNNNNN]` with `mfa_serial` in the config); one real")
    w("refresh then adds `[test]`, so the credentials file has N sections. Commands:")
w("`mfa-exec test -- true` and `mfa-exec list` (which prints one row per profile).")
w("")
w("`mfa-exec explain test` (every fact of the profile and the warnings) is the third command.")
if has_before:
    w(f"Each command ran beside the same command of the earlier tree (`BENCH_BEFORE`, "
      f"`{sh(os.environ.get('MFA_EXEC_BENCH_BEFORE', ''), '--version') or '?'}`) in one hyperfine run.")
w("")
w("| profiles | config + credentials | cached path (ms) | `list` (ms) | `explain` (ms) | runs (cached / list / explain) | `list` rows |")
w("|---:|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    rows = max(len(read(f"2-scale-list-{n}.out").splitlines()) - 1, 0)
    size = (int(read(f"2-config-bytes-{n}.txt", "0")) + int(read(f"2-bytes-{n}.txt"))) / 1024
    cell = lambda k: (f"{ms(scale[k][n]['median'])}" + (f" (before: {ms(before[k][n]['median'])})" if has_before else ""))
    w(f"| {n:,} ({read(f'2-sections-{n}.txt')} sections) | {size:,.0f} KiB | "
      f"{cell('cached')} | {cell('list')} | {cell('explain')} | "
      f"{len(scale['cached'][n]['times'])} / {len(scale['list'][n]['times'])} / {len(scale['explain'][n]['times'])} | {rows} |")
w("")
if has_before:
    same = read("2-same-output.txt").splitlines()
    diff = [l for l in same if l.endswith("DIFFERENT")]
    w(f"Ratios to 10 profiles, this tree: cached path " + ", ".join(f"{cached_n[n] / cached_n[10]:.2f}×" for n in sizes[1:])
      + "; earlier tree: " + ", ".join(f"{before['cached'][n]['median'] / before['cached'][10]['median']:.2f}×" for n in sizes[1:])
      + " (100, 1,000, 10,000 profiles).")
    w("")
    w(f"Output of both trees compared for every command and size ({len(same)} pairs; the minutes "
      f"left on a session are masked): " + ("identical." if not diff else "**different: " + ", ".join(diff) + "**"))
    w("")
w("A command whose first run took over 1 s was run 3 times without warm-up; over 20 s,")
w("that first run is the figure (runs = 1).")
w("")
def growth(d):
    return ", ".join(f"{d[b] / d[a]:.1f}×" for a, b in zip(sizes, sizes[1:]))


def shape(d):
    # ratio per 10× more profiles: ~10 is linear, ~100 quadratic
    r = d[10000] / d[1000]
    return "about linear" if r < 20 else "about quadratic" if r > 50 else "worse than linear"


w(f"Growth per 10× more profiles (10→100, 100→1,000, 1,000→10,000): cached path {growth(cached_n)}"
  f" ({shape(cached_n)} at the top), `list` {growth(list_n)} ({shape(list_n)} at the top).")
w(f"Per profile at 10,000: cached path {cached_n[10000] / 10000 * 1e6:.2f} µs, `list` {list_n[10000] / 10000 * 1e6:.1f} µs.")
w("")

w("## 3. Refresh path")
w("")
w("A forced refresh each run (`--force`, code from `-t`): resolve, take the lock, call")
w("GetSessionToken on moto through the proxy, write the credentials file atomically, exec.")
w("The STS round trip is the proxy's own time per GetSessionToken (request received →")
w("response sent, moto included); the overhead is the refresh median minus its median.")
w("")
table([("mfa-exec test --force -t 123456 -- true", r_me),
       ("echo 123456 | aws-mfa --profile test --force", r_am),
       ("awsumepy testAccount --refresh --mfa-token 123456", r_aw)])
w("| | mfa-exec | aws-mfa | awsumepy |")
w("|---|---:|---:|---:|")
w(f"| invocations (warm-up + runs) | {inv_me} | {inv_am} | {inv_aw} |")
w(f"| GetSessionToken requests | {gst(sts_me)} | {gst(sts_am)} | {gst(sts_aw)} |")
w(f"| all STS requests | {len(sts_me)} | {len(sts_am)} | {len(sts_aw)} |")
for label, rows in (("median STS round trip (ms)", None),):
    vals = []
    for rs in (sts_me, sts_am, sts_aw):
        t = [x for a, x in rs if a == "GetSessionToken"]
        vals.append(ms(statistics.median(t)) if t else "–")
    w(f"| {label} | " + " | ".join(vals) + " |")
w(f"| overhead beyond the round trip (ms) | {ms(r_me['median'] - rt)} | "
  f"{ms(r_am['median'] - statistics.median([x for a, x in sts_am if a == 'GetSessionToken'] or [0]))} | "
  f"{ms(r_aw['median'] - statistics.median([x for a, x in sts_aw if a == 'GetSessionToken'] or [0]))} |")
w("")
w(f"A single refresh on its own made {single} GetSessionToken request ({single_all} request in all).")
w("")

w(f"## 4. Stampede")
w("")
w(f"Each round moves the cached session's `x_security_token_expires` into the past, then")
w(f"starts {run.get('stampede_n')} `mfa-exec test -t 123456 -- true` at once and waits for all.")
w("")
w("| round | wall time (ms) | GetSessionToken requests | all STS requests | failed runs |")
w("|---:|---:|---:|---:|---:|")
for r, s, g, a, f in stampede:
    w(f"| {r} | {s * 1000:.0f} | {g} | {a} | {f} |")
if stampede:
    w(f"| median | {statistics.median(s[1] for s in stampede) * 1000:.0f} | | | |")
w("")

w("## 5. Peak memory")
w("")
w(f"Maximum resident set size from `/usr/bin/time -v`, {run.get('rss_runs')} runs each. mfa-exec execs")
w("its child in the same process, so its figure is the larger of mfa-exec's and `true`'s.")
w("")
w("| command | max RSS median (MiB) | max RSS max (MiB) |")
w("|---|---:|---:|")
for name, v in rss.items():
    w(f"| {name} | {statistics.median(v) / 1024:.1f} | {max(v) / 1024:.1f} |")
w("")

server = read("server.txt")
if server:
    w("## 6. The --server endpoint (issue 22)")
    w("")
    w("`scripts/bench/server.sh`: a C client (`scripts/bench/server_client.c`) makes GET requests")
    w("with the token, a new connection each (as the SDKs do with `Connection: close`), first")
    w("1 client × 1,000 requests, then 16 concurrent clients × 200; the memory is the serving")
    w("mfa-exec's (`/proc/PID/status`) between the runs. Latency is from connect to the last byte.")
    w("")
    w("```")
    w(server)
    w("```")
    w("")

w("## Profile of the cached path")
w("")
before = read("strace-cached-before-exec.txt")
sc = read("strace-cached.txt")
if sc:
    w(f"Binary: {binary:,} bytes. System calls of `mfa-exec test -- true` up to its exec of")
    w(f"`true`: {before or '?'} (from `strace -f`). `strace -f -c` of the whole run:")
    w("")
    w("```")
    w(sc)
    w("```")
    sl = read("strace-list-1000.txt")
    if sl:
        w("")
        w("`strace -f -c mfa-exec list` with 1,000 profiles:")
        w("")
        w("```")
        w("\n".join(sl.splitlines()[:25]))
        w("```")
else:
    w(f"Binary: {binary:,} bytes (strace not installed: no syscall profile).")
w("")
ru = [l.split("\t") for l in read("rusage.tsv").splitlines()]
if ru:
    w("CPU time of `mfa-exec test -- true` per run (getrusage over 200 runs, `true` included):")
    w("")
    w("| tree | profiles | user (ms) | system (ms) |")
    w("|---|---:|---:|---:|")
    for which, n, u, sy in ru:
        w(f"| {which} | {int(n):,} | {float(u):.2f} | {float(sy):.2f} |")
    w("")
ld = read("ld-statistics.txt")
if ld:
    w("The dynamic loader's statistics (`LD_DEBUG=statistics`; mfa-exec, then `true`):")
    w("")
    w("```")
    w("\n".join(l.split(":", 1)[-1].rstrip() if l[:1].isdigit() else l.rstrip() for l in ld.splitlines()))
    w("```")
    w("")

# The start-up analysis (callgrind instruction counts of a perf-profile build,
# which this script does not run: valgrind takes minutes) is a hand-written
# document with its own date and method; it is included as it is.
analysis = os.path.join(root, "scripts", "bench", "startup.md")
if os.path.exists(analysis):
    w(open(analysis).read().rstrip())
    w("")

w("## Commands")
w("")
w("```sh")
w("bash scripts/bench.sh     # BENCH_QUICK=1 for a smoke test")
w("# 1")
w("hyperfine -N --warmup W 'mfa-exec test -- true' /bin/true \\")
w("  'env HOME=$AH ... aws-mfa --profile test' 'env HOME=$SH ... awsumepy testAccount'")
w("# 2, for N in 10 100 1000 10000 (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE per N)")
w("hyperfine -N --warmup W 'mfa-exec test -- true' 'mfa-exec list'")
w("# 3")
w("hyperfine -N --runs R 'mfa-exec test --force -t 123456 -- true'")
w("hyperfine --runs R 'echo 123456 | env HOME=$AH ... aws-mfa --profile test --force'")
w("hyperfine --runs R 'env HOME=$SH ... awsumepy testAccount --refresh --mfa-token 123456'")
w("# 4, per round")
w("for i in $(seq 16); do mfa-exec test -t 123456 -- true & done; wait")
w("# 5")
w("/usr/bin/time -v mfa-exec test -- true     # and the others")
w("```")

with open(OUT, "w") as f:
    f.write("\n".join(out) + "\n")
print("\n".join(f"{t}: {m} -> {'met' if met else 'MISSED'}" for t, m, met in targets), file=sys.stderr)
