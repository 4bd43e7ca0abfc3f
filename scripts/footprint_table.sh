#!/usr/bin/env bash
# Measures every zoo model on an emulated Cortex-M4 and M7 with `slingshot footprint` and
# writes the figures where they are read:
#   models/footprint.json             all figures (the source of the next three);
#   models/README.md                  the footprint table, between <!-- footprint-table --> markers;
#   models/<set>/<model>.md           each card's "On a Cortex-M" section, between
#                                     <!-- footprint --> markers (appended when absent);
#                                     the web page reads it from the card it already fetches.
# Rerun it whenever the exporter, the runtime, the kernels or a model change: the flash
# figures follow the exported weights' storage.
# Usage: scripts/footprint_table.sh [SLINGSHOT_BINARY]   (default build/native/slingshot)
# Needs arm-none-eabi-gcc and qemu-system-arm (scripts/setup.sh). Builds go to the firmware
# cache ($SLINGSHOT_CACHE_DIR or ~/.cache/slingshot), so a rerun only runs QEMU.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$repo/build/native/slingshot}")
[ -x "$bin" ] || { echo "error: no slingshot binary at $bin (build it, or pass its path)" >&2; exit 1; }
cd "$repo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$SECONDS

# The zoo's quantized models, as models/<set>/<name>.safetensors; float parents
# (*_float.safetensors) are left out.
models=()
for m in models/housenum/*.safetensors models/keywords/*_int8.safetensors; do
  case "$m" in *_float.safetensors) continue ;; esac
  models+=("$m")
done
cpus=(m4 m7)
for m in "${models[@]}"; do
  key=${m#models/}
  key=${key%.safetensors}
  for cpu in "${cpus[@]}"; do
    out="$work/${key//\//__}.$cpu.json"
    echo "footprint $key on $cpu" >&2
    if ! "$bin" footprint --model "$m" --cpu "$cpu" --json > "$out" 2> "$work/err.txt"; then
      echo "error: slingshot footprint --model $m --cpu $cpu failed: $(cat "$work/err.txt")" >&2
      exit 1
    fi
  done
done

python3 - "$work" "${cpus[*]}" "${models[@]}" <<'PY'
import json, os, re, sys

work, cpus, models = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
MARK_TABLE = ("<!-- footprint-table -->", "<!-- /footprint-table -->")
MARK_CARD = ("<!-- footprint -->", "<!-- /footprint -->")


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def replace_between(text, marks, body, path):
    begin, end = marks
    if begin in text:
        if end not in text:
            sys.exit(f"error: {path} has {begin} but no {end}")
        head, rest = text.split(begin, 1)
        return head + begin + "\n" + body + end + rest.split(end, 1)[1]
    if path.endswith("README.md"):
        sys.exit(f"error: {path} has no {begin} ... {end} markers for the footprint table")
    return text.rstrip("\n") + "\n\n" + begin + "\n" + body + end + "\n"


def b(v):
    return f"{v:,} B"


figures = {}
for m in models:
    key = m[len("models/"):-len(".safetensors")]
    entry = {}
    for cpu in cpus:
        with open(os.path.join(work, f"{key.replace('/', '__')}.{cpu}.json")) as f:
            r = json.load(f)
        entry[cpu] = {
            "part": r["part"], "board": r["board"], "kernels": r["kernels"],
            "input": os.path.relpath(r["input"]) if os.path.exists(r["input"]) else r["input"], "n": r["n"],
            "flash_bytes": r["flash_bytes"],
            "flash_model_data_bytes": r["flash"]["model_data_bytes"],
            "flash_runtime_bytes": r["flash"]["runtime_bytes"],
            "flash_harness_bytes": r["flash"]["harness_bytes"],
            "ram_bytes": r["ram_bytes"],
            "static_ram_bytes": r["ram"]["static_bytes"],
            "arena_bytes": r["ram"]["arena_bytes"],
            "stack_bytes": r["ram"]["stack_bytes"],
            "instructions": r["instructions"],
            "clock_mhz": r["clock_mhz"],
            "latency_ms": round(r["latency_ms"], 3),
        }
    figures[key] = entry

doc = {
    "about": "slingshot footprint per zoo model and core (scripts/footprint_table.sh): flash from the linked "
             "harness ELF (model_data = the exported model's weights and tables, runtime = device runtime and "
             "kernels, harness = semihosting harness, C library, startup), RAM = .data + .bss (arena included) + "
             "painted-stack high-water mark, mean instructions per inference under QEMU -icount, latency at the "
             "part's maximum clock assuming one instruction per cycle.",
    "models": figures,
}
write_atomic("models/footprint.json", json.dumps(doc, indent=1) + "\n")

# models/README.md: one row per model.
first = cpus[0]
head = ("| model | flash, total | of which model data | RAM, total | of which arena | stack | "
        + " | ".join(f"{c.upper()} instructions | {c.upper()} latency" for c in cpus) + " |\n")
rule = "|---" * (6 + 2 * len(cpus)) + "|\n"
rows = ""
for key, e in figures.items():
    f = e[first]
    rows += (f"| `{key}` | {b(f['flash_bytes'])} | {b(f['flash_model_data_bytes'])} | {b(f['ram_bytes'])} | "
             f"{b(f['arena_bytes'])} | {b(f['stack_bytes'])} | "
             + " | ".join(f"{e[c]['instructions']:,} | {e[c]['latency_ms']:.1f} ms" for c in cpus) + " |\n")
parts = ", ".join(f"{c.upper()} {figures[next(iter(figures))][c]['part']} at "
                  f"{figures[next(iter(figures))][c]['clock_mhz']:g} MHz" for c in cpus)
def span(field):
    lo = min(e[first][field] for e in figures.values())
    hi = max(e[first][field] for e in figures.values())
    return f"{lo:,} B" if lo == hi else f"{lo:,} to {hi:,} B"


note = (f"\nFlash and RAM on the {first.upper()} (`{figures[next(iter(figures))][first]['part']}`); latency = "
        f"instructions / clock ({parts}), assuming one instruction per cycle. Flash is the whole harness "
        f"firmware; the harness, its semihosting I/O and the C library take {span('flash_harness_bytes')} of it, "
        f"the runtime and kernels {span('flash_runtime_bytes')}. "
        "`scripts/footprint_table.sh` regenerates this table, `models/footprint.json` and the cards' "
        "Cortex-M sections; [docs/cortex-m.md](../docs/cortex-m.md) says how each figure is measured.\n")
readme = open("models/README.md").read()
write_atomic("models/README.md", replace_between(readme, MARK_TABLE, head + rule + rows + note, "models/README.md"))

# Each card: its own figures per core.
for m in models:
    key = m[len("models/"):-len(".safetensors")]
    e = figures[key]
    card_path = m[:-len(".safetensors")] + ".md"
    if not os.path.exists(card_path):
        continue
    lines = [
        "## On a Cortex-M",
        "",
        f"`slingshot footprint --model {m} --cpu CPU` (the harness firmware under QEMU, {e[first]['n']} inputs "
        f"from `{e[first]['input']}`); latency assumes one instruction per cycle at the part's maximum clock. "
        "Written by `scripts/footprint_table.sh`.",
        "",
        "| | " + " | ".join(f"{c.upper()} ({e[c]['part']}, {e[c]['kernels']} kernels)" for c in cpus) + " |",
        "|---" * (1 + len(cpus)) + "|",
    ]
    def row(label, fmt):
        lines.append(f"| {label} | " + " | ".join(fmt(e[c]) for c in cpus) + " |")
    row("flash, total", lambda f: b(f["flash_bytes"]))
    row("model data", lambda f: b(f["flash_model_data_bytes"]))
    row("runtime and kernels", lambda f: b(f["flash_runtime_bytes"]))
    row("harness and C library", lambda f: b(f["flash_harness_bytes"]))
    row("RAM, total", lambda f: b(f["ram_bytes"]))
    row("arena", lambda f: b(f["arena_bytes"]))
    row("stack high-water mark", lambda f: b(f["stack_bytes"]))
    row("instructions / inference", lambda f: f"{f['instructions']:,}")
    row("latency", lambda f: f"{f['latency_ms']:.1f} ms at {f['clock_mhz']:g} MHz")
    card = open(card_path).read()
    write_atomic(card_path, replace_between(card, MARK_CARD, "\n".join(lines) + "\n", card_path))
print(f"wrote models/footprint.json, the table in models/README.md and {len(models)} cards' sections")
PY
echo "footprint table: ${#models[@]} models x ${#cpus[@]} cores in $((SECONDS - start)) s" >&2
