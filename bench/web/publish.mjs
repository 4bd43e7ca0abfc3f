// The page side of bench_page.mjs: a benchmark page runs its body through publish(), which
// sets window.benchResult to the result or to {error} for the driver to pick up; log()
// appends to the page's <pre id="log">.
export function log(s) {
  document.getElementById('log').textContent += `\n${s}`;
}

export async function publish(body) {
  try {
    window.benchResult = await body();
  } catch (e) {
    window.benchResult = { error: String((e && e.stack) || e) };
    log(`error: ${e}`);
  }
}
