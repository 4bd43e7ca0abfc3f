// `slingshot study [--quick] -o DIR [--only ID...] [--models DIR] [--threads N]`: the QNN robustness
// study on the shipped models (src/study/study.h). Finished findings are cached in
// DIR/findings/, so an interrupted study picks up where it stopped.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/progress.h"
#include "core/thread_pool.h"
#include "study/study.h"

namespace slingshot::cli {

void register_study(CLI::App& app, CommandList& out) {
  auto options = std::make_shared<StudyOptions>();
  CLI::App* s = app.add_subcommand("study", "Measure the seed papers' claims about quantized networks on the shipped "
                                            "models; writes DIR/report.md, DIR/report.json and PNG plots");
  s->add_option("-o,--out", options->out_dir, "Output directory (finished findings are cached there)")->required();
  s->add_flag("--quick", options->quick, "Few samples and iterations: a smoke test of the structure, not the numbers");
  s->add_option("--only", options->only, "Only these findings (ids as in the report)");
  s->add_option("--models", options->models_dir, "The model zoo directory")->capture_default_str();
  auto threads = std::make_shared<int>(0);
  s->add_option("--threads", *threads, "Threads for gradients and float kernels (default: every core); results do not "
                                       "depend on it")
      ->check(CLI::Range(1, kMaxThreads));
  out.push_back({s, [options, threads] {
                   use_threads(*threads);
                   const auto started = std::chrono::steady_clock::now();
                   auto last = started;
                   const auto elapsed = [](auto from) {
                     return std::chrono::duration<double>(std::chrono::steady_clock::now() - from).count();
                   };
                   std::string current;
                   // On a terminal: the attack run under way inside the current finding
                   // (a finding of the full study runs for up to an hour).
                   std::unique_ptr<ProgressBar> bar;
                   const auto finish_bar = [&] {
                     if (bar) bar->finish();
                     bar.reset();
                   };
                   const auto on_finding = [&](const std::string& id, bool cached) {
                     finish_bar();
                     if (!current.empty()) std::fprintf(stderr, "  done in %.1f s\n", elapsed(last));
                     last = std::chrono::steady_clock::now();
                     current = cached ? "" : id;
                     std::fprintf(stderr, "study: %s%s\n", id.c_str(), cached ? " (cached from an earlier run)" : "");
                     if (!cached) bar = std::make_unique<ProgressBar>("  " + id);
                   };
                   const auto on_step = [&](const StudyStep& s) {
                     if (!bar || s.total <= 0) return;
                     char detail[160];
                     std::snprintf(detail, sizeof detail, "attack run %d: %s, %lld/%lld samples, %.0f s", s.run,
                                   s.attack.c_str(), static_cast<long long>(s.done), static_cast<long long>(s.total),
                                   elapsed(last));
                     bar->update(static_cast<double>(s.done) / static_cast<double>(s.total), detail);
                   };
                   Status st = run_study(*options, on_finding, on_step);
                   finish_bar();
                   if (!current.empty() && st.ok()) std::fprintf(stderr, "  done in %.1f s\n", elapsed(last));
                   if (st.ok())
                     std::printf("study written to %s/report.md (%.1f s)\n", options->out_dir.c_str(), elapsed(started));
                   return st;
                 }});
}

}  // namespace slingshot::cli
