#!/usr/bin/env bash
# The documentation checks (part of tests/run; quick, no build):
#  1. every hand-written man page in docs/man/ renders without a warning, checked as lintian
#     checks installed pages (`man --warnings`) and with groff's own warnings on (`-ww`);
#  2. gatehouse.toml(5) documents every key: every field of the config structs
#     (policy/src/config/*.rs, and [ids] from snapshot/src/ids.rs) as a tagged item in its section, every key and
#     section of the shipped packaging/etc/gatehouse.toml, and no key the structs do not have;
#  3. the product's text (README, CHANGELOG, docs/, the shipped config, the CLI's help texts)
#     names no issue numbers;
#  4. the links between README, CHANGELOG and docs/ lead to files and headings that exist.
# The generated pages (gatehouse(8) and its subcommands) are checked after installing the .deb,
# with the hand-written ones, in packaging/tests/install.sh.
# groff and man come with man-db, which lintian (in .ci/run's list) depends on.
set -euo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
ok() {
    echo "ok   $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

for tool in groff man python3; do
    command -v "$tool" >/dev/null || { echo "man-pages.sh: $tool is missing (apt-get install man-db python3)" >&2; exit 2; }
done

# 1. Rendering.
pages=(docs/man/*.[1-9])
[ "${#pages[@]}" -ge 7 ] || fail "expected at least 7 pages in docs/man, found ${#pages[@]}"
for page in "${pages[@]}"; do
    # What lintian runs (its groff-message check), and groff with every warning enabled.
    warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null || echo "man exited $?")
    warn+=$(groff -man -ww -z "$page" 2>&1 || echo "groff exited $?")
    if [ -z "$warn" ]; then
        ok "$page renders without warnings"
    else
        fail "$page: $warn"
    fi
    # The section in the name must be the one in .TH (lintian: manpage-section-mismatch).
    sect=${page##*.}
    if grep -Eq "^\.TH [^ ]+ $sect " "$page"; then
        ok "$page: .TH names section $sect"
    else
        fail "$page: .TH does not name section $sect"
    fi
done

# 2. Every configuration key in gatehouse.toml(5).
sources=$(printf '%s:' policy/src/config/*.rs snapshot/src/ids.rs)
if out=$(python3 - "$sources" packaging/etc/gatehouse.toml docs/man/gatehouse.toml.5 <<'PY'
import re, sys
sources, shipped, page = sys.argv[1:4]
config_rs = "policy/src/config/mod.rs"

# The config structs: every `pub field: Type` of a struct deriving Deserialize.
structs = {}
for path in filter(None, sources.split(":")):
    src = open(path).read()
    for m in re.finditer(r'#\[derive\([^)]*Deserialize[^)]*\)\]\s*(?:#\[[^\]]*\]\s*)*pub struct (\w+)\s*\{(.*?)\n\}', src, re.S):
        fields = re.findall(r'^\s*pub (\w+)\s*:\s*([^,\n]+),', m.group(2), re.M)
        structs[m.group(1)] = fields
# [ids] is read by a custom deserializer into the snapshot crate's plain IdRange.
m = re.search(r'pub struct IdRange\s*\{(.*?)\n\}', open("snapshot/src/ids.rs").read(), re.S)
if m:
    structs["IdRange"] = re.findall(r'^\s*pub (\w+)\s*:\s*([^,\n]+),', m.group(1), re.M)
if "Config" not in structs:
    sys.exit("no `pub struct Config` deriving Deserialize in " + config_rs)
expect = {"top": set()}          # section -> keys that must be tagged items
maps = set()                     # sections whose keys are free (maps)
for name, ty in structs["Config"]:
    ty = ty.strip()
    if ty in structs:
        expect[name] = {f for f, _ in structs[ty]}
    elif ty.startswith("BTreeMap") or ty.startswith("HashMap"):
        maps.add(name)
    else:
        expect["top"].add(name)

# The page, split at .SS headings; roff escapes undone for matching.
sections, cur = {}, None
for line in open(page).read().split("\n"):
    if line.startswith(".SS "):
        title = line[4:].strip().strip('"')
        cur = "top" if title.lower().startswith("top-level") else title.strip("[]")
        sections[cur] = []
    elif line.startswith(".SH "):
        cur = None
    elif cur is not None:
        sections[cur].append(line.replace("\\-", "-").replace("\\(dq", '"'))
problems = []
def tagged(sec):
    lines = sections.get(sec, [])
    return {re.split(r"\s", lines[i + 1][3:].strip())[0]
            for i in range(len(lines) - 1)
            if lines[i] == ".TP" and lines[i + 1].startswith(".B ")}
for sec, keys in expect.items():
    if sec not in sections:
        problems.append(f"no .SS section for [{sec}]" if sec != "top" else "no .SS \"Top-level keys\"")
        continue
    have = tagged(sec)
    for k in sorted(keys - have):
        problems.append(f"[{sec}] {k}: a field of the config struct, not documented as a .TP/.B item")
    for k in sorted(have - keys):
        problems.append(f"[{sec}] {k}: documented, but the config struct has no such field")
for sec in maps:
    if sec not in sections:
        problems.append(f"no .SS section for the map [{sec}]")

# The shipped file: every commented default `# key = …` under its `# [section]`.
sec, shipped_keys = "top", []
for line in open(shipped):
    m = re.match(r'#\s*\[(\w+)\]', line)
    if m:
        sec = m.group(1)
        continue
    m = re.match(r'#\s*("?[\w-]+"?)\s*=', line)
    if m:
        shipped_keys.append((sec, m.group(1).strip('"')))
if len(shipped_keys) < 20:
    problems.append(f"only {len(shipped_keys)} keys found in {shipped}: has its layout changed?")
for sec, key in shipped_keys:
    if sec in maps:
        text = "\n".join(sections.get(sec, []))
        if not re.search(r'(?<![\w-])' + re.escape(key) + r'(?![\w-])', text):
            problems.append(f"[{sec}] {key}: in the shipped {shipped}, not mentioned in the page's [{sec}]")
    elif sec not in expect:
        problems.append(f"[{sec}]: a section of the shipped {shipped} that the config struct does not have")
    elif key not in expect[sec]:
        problems.append(f"[{sec}] {key}: in the shipped {shipped}, but the config struct has no such field")
n = sum(len(v) for v in expect.values())
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"{n} struct fields in {len(expect)} sections, {len(maps)} map sections, {len(shipped_keys)} shipped keys")
PY
); then
    ok "gatehouse.toml(5) documents every configuration key ($out)"
else
    fail "gatehouse.toml(5) and the configuration disagree:"
    printf '%s\n' "$out" | sed 's/^/     | /'
fi

# 3. No issue numbers in the product's text.
if hits=$(grep -rnIE '\b[Ii]ssues? #?[0-9]|\(#[0-9]+\)' README.md CHANGELOG.md docs packaging/etc/gatehouse.toml \
    packaging/README.md fuzz/README.md server/src/cli 2>/dev/null); then
    fail "issue numbers in the product's text:"
    printf '%s\n' "$hits" | sed 's/^/     | /'
else
    ok "no issue numbers in README, CHANGELOG, docs/, the shipped config or the CLI's help"
fi

# 4. The links between README, CHANGELOG and docs/ lead to files and headings that exist.
if out=$(python3 - README.md CHANGELOG.md docs/*.md <<'PY'
import os, re, sys
def anchors(path):
    found = set()
    for line in open(path):
        m = re.match(r"#+ (.*)", line)
        if m:
            found.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return found
bad = []
for f in sys.argv[1:]:
    text = re.sub(r"```.*?```", "", open(f).read(), flags=re.S)
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        if not os.path.exists(target):
            bad.append(f"{f}: {link}: no such file")
        elif anchor and target.endswith(".md") and anchor not in anchors(target):
            bad.append(f"{f}: {link}: no such heading")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
); then
    ok "links between README, CHANGELOG and docs/ resolve"
else
    fail "broken links:"
    printf '%s\n' "$out" | sed 's/^/     | /'
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
