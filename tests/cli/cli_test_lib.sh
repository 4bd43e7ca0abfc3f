# Helpers the CLI end-to-end scripts source: pass/fail counting and the two expectations
# every check is made of. The caller sets `fails=0` and reports it at the end.
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

# expect_ok NAME CMD...: exit status 0.
expect_ok() {
  local name="$1"; shift
  if "$@" > out.txt 2> err.txt; then pass "$name"; else fail "$name (exit $?): $(cat err.txt)"; fi
}
# expect_error NAME TEXT CMD...: exit status 1 and stderr containing TEXT, on one line.
expect_error() {
  local name="$1" text="$2"; shift 2
  "$@" > out.txt 2> err.txt
  local rc=$?
  if [ "$rc" -eq 1 ] && grep -qF -- "$text" err.txt && [ "$(wc -l < err.txt)" -eq 1 ]; then
    pass "$name"
  else
    fail "$name: exit $rc, stderr: $(cat err.txt)"
  fi
}
# require_tools TOOL...: exits with a failure naming the first tool not on PATH.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" > /dev/null || { echo "FAIL: $tool not found (run scripts/setup.sh)"; exit 1; }
  done
}
