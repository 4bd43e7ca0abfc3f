// Finding 6: patch attacks keep a high success rate at every bitwidth.
//
// LaVAN (a per-image patch whose pixels are unbounded inside it) against float, int8,
// int4, ternary and binary ResNet-8, each attacked on its own gradients and judged on its
// own engine, at the same patch size.
#include "report/plot.h"
#include "study/study.h"

namespace slingshot {

Result<Finding> finding_patch(StudyContext& ctx) {
  const int64_t n = ctx.pick(24, 200);
  const Tensor x = ctx.images(n);
  const std::vector<int> y = ctx.labels(n);
  SLING_ASSIGN_OR_RETURN(const auto nets, ctx.bitwidth_targets());
  AttackParams p;
  p.max_iter = static_cast<int>(ctx.pick(20, 100));
  p.batch_size = 50;
  p.extra["patch_size"] = 8;  // 8x8 of 32x32: 6.25% of the image
  PlotSeries line{"LaVAN 8x8 patch", {}, {}};
  nlohmann::json rows = nlohmann::json::array();
  double lowest = 1;
  for (size_t k = 0; k < nets.size(); ++k) {
    SLING_ASSIGN_OR_RETURN(const auto records, ctx.attack_records("lavan", *nets[k].target, x, y, p));
    const AttackSummary s = summarize(records);
    line.x.push_back(static_cast<double>(k));
    line.y.push_back(s.success_rate);
    lowest = std::min(lowest, s.success_rate);
    rows.push_back({{"network", nets[k].name}, {"clean_accuracy", s.clean_accuracy}, {"success_rate", s.success_rate}});
  }
  std::string measured;
  for (const auto& r : rows) {
    char part[96];
    std::snprintf(part, sizeof part, "%s%s %.3f", measured.empty() ? "" : ", ", r["network"].get<std::string>().c_str(),
                  r["success_rate"].get<double>());
    measured += part;
  }
  char text[700];
  std::snprintf(text, sizeof text,
                "LaVAN with an 8x8 patch (6.25%% of the image, %d iterations) on %lld evaluation images succeeds on "
                "%s (float, int8, int4, ternary, binary). The lowest success rate is %.3f.",
                p.max_iter, static_cast<long long>(n), measured.c_str(), lowest);
  Finding f;
  f.id = "patch";
  f.title = "Patch attacks at every bitwidth";
  f.claim = "Localized patch attacks are not stopped by quantization: they keep a high success rate on int8, int4, "
            "ternary and binary networks alike.";
  f.summary = text;
  f.verdict = lowest >= 0.5 ? "agrees" : lowest >= 0.25 ? "mixed" : "disagrees";
  f.data = {{"samples", n}, {"max_iter", p.max_iter}, {"patch_size", 8}, {"networks", rows}};
  LinePlot plot;
  plot.title = "LaVAN success rate by network (0 float, 1 int8, 2 int4, 3 ternary, 4 binary)";
  plot.x_label = "network";
  plot.y_label = "success rate";
  plot.y_percent = true;
  plot.y_min = 0;
  plot.y_max = 1;
  plot.series = {line};
  SLING_ASSIGN_OR_RETURN(std::string png, render_line_plot(plot));
  f.plots.emplace_back("patch_success.png", std::move(png));
  return f;
}

}  // namespace slingshot
