// Finding 3: adversarial examples transfer poorly from float to quantized networks and
// across bitwidths; gradient misalignment and quantization value shift explain it
// (Bernhard et al. 2019).
//
// PGD white-box on each of float (the int8 model's float master), int8, int4, ternary and
// binary ResNet-8, replayed on every other: the transfer matrix. Then the cosine between
// the float master's input gradient and each quantized model's STE gradient, and how many
// int8 activation codes a float-crafted example moves compared with an int8-crafted one.
#include <cmath>

#include "metrics/gradient_alignment.h"
#include "metrics/transfer_matrix.h"
#include "metrics/value_shift.h"
#include "report/plot.h"
#include "study/study.h"

namespace slingshot {

Result<Finding> finding_transfer(StudyContext& ctx) {
  const int64_t n = ctx.pick(32, 200);
  const Tensor x = ctx.images(n);
  const std::vector<int> y = ctx.labels(n);
  SLING_ASSIGN_OR_RETURN(const auto nets, ctx.bitwidth_targets());
  std::vector<Target*> targets;
  std::vector<TransferEndpoint> endpoints;
  for (const auto& net : nets) {
    endpoints.push_back({net.name, net.target.get()});
    targets.push_back(net.target.get());
  }
  SLING_ASSIGN_OR_RETURN(auto pgd, make_attack("pgd"));
  AttackParams p;
  p.eps = 4.0f / 255;
  p.max_iter = static_cast<int>(ctx.pick(5, 20));
  p.batch_size = 50;
  SLING_ASSIGN_OR_RETURN(const TransferMatrix m, transfer_matrix(*pgd, endpoints, x, y, p));

  // Gradient misalignment: the float master's gradient against each quantized model's.
  const Objective ce{LossKind::kCrossEntropy, y, {}};
  Histogram cosines;
  cosines.title = "Cosine between the float master's input gradient and each network's (STE)";
  cosines.x_label = "cosine";
  cosines.bins = 30;
  nlohmann::json mean_cosine;
  for (size_t k = 1; k < nets.size(); ++k) {
    SLING_ASSIGN_OR_RETURN(const GradientAlignment a, compare_gradients(*targets[0], *targets[k], x, ce));
    cosines.series.push_back({nets[k].name, a.cosine});
    mean_cosine[nets[k].name] = a.mean_cosine;
  }

  // Value shift on the int8 model: float-crafted against int8-crafted examples.
  Tensor from_float, from_int8;
  SLING_ASSIGN_OR_RETURN(const auto rf, ctx.attack_records("pgd", *targets[0], x, y, p, &from_float));
  SLING_ASSIGN_OR_RETURN(const auto r8, ctx.attack_records("pgd", *targets[1], x, y, p, &from_int8));
  SLING_ASSIGN_OR_RETURN(const QuantizedModel* int8_model, ctx.model("resnet8_int8"));
  SLING_ASSIGN_OR_RETURN(const auto shift_float, quantization_value_shift(*int8_model, x, from_float));
  SLING_ASSIGN_OR_RETURN(const auto shift_int8, quantization_value_shift(*int8_model, x, from_int8));
  PlotSeries shift_f{"crafted on the float master", {}, {}}, shift_8{"crafted on int8 (STE)", {}, {}};
  nlohmann::json layers = nlohmann::json::array();
  for (size_t l = 0; l < shift_float.size(); ++l) {
    shift_f.x.push_back(static_cast<double>(l));
    shift_f.y.push_back(shift_float[l].share);
    shift_8.x.push_back(static_cast<double>(l));
    shift_8.y.push_back(shift_int8[l].share);
    layers.push_back({{"layer", shift_float[l].name}, {"float_crafted", shift_float[l].share},
                      {"int8_crafted", shift_int8[l].share}});
  }

  // Diagonal (white-box) against off-diagonal (transfer) means.
  double diag = 0, off = 0;
  int diag_n = 0, off_n = 0;
  nlohmann::json matrix = nlohmann::json::array();
  HeatMap heat;
  heat.title = "Transfer: share of source's adversarial inputs that fool the target";
  heat.row_axis = "source (attacked white-box)";
  heat.col_axis = "target";
  for (size_t s = 0; s < nets.size(); ++s) {
    heat.row_labels.push_back(nets[s].name);
    heat.col_labels.push_back(nets[s].name);
    std::vector<double> row;
    nlohmann::json jrow = nlohmann::json::array();
    for (size_t t = 0; t < nets.size(); ++t) {
      const TransferCell& c = m.cells[s][t];
      row.push_back(c.rate);
      jrow.push_back({{"eligible", c.eligible}, {"fooled", c.fooled}, {"rate", c.eligible ? nlohmann::json(c.rate) : nlohmann::json()}});
      if (!c.eligible) continue;
      (s == t ? diag : off) += c.rate;
      ++(s == t ? diag_n : off_n);
    }
    heat.values.push_back(row);
    matrix.push_back(jrow);
  }
  diag /= std::max(1, diag_n);
  off /= std::max(1, off_n);
  const double float_to_int8 = m.cells[0][1].rate, cos_int8 = mean_cosine.value("int8", 0.0),
               cos_binary = mean_cosine.value("binary", 0.0);
  const bool poor_transfer = off < diag - 0.2;
  const bool misaligned = cos_binary < cos_int8;
  char text[1400];
  std::snprintf(text, sizeof text,
                "PGD at 4/255 (%d iterations) on %lld evaluation images. White-box success averages %.3f on the "
                "diagonal; transferred examples fool their target %.3f of the time on average, and float-crafted "
                "examples fool int8 %.3f of the time. The mean gradient cosine with the float master is %.3f for int8, "
                "%.3f for int4, %.3f for ternary and %.3f for binary. Float-crafted examples move %.1f%% of the int8 "
                "model's last-layer codes, int8-crafted ones %.1f%%.",
                p.max_iter, static_cast<long long>(x.dim(0)), diag, off, float_to_int8, cos_int8,
                mean_cosine.value("int4", 0.0), mean_cosine.value("ternary", 0.0), cos_binary,
                100 * shift_float.back().share, 100 * shift_int8.back().share);

  Finding f;
  f.id = "transfer";
  f.title = "Transfer between float and quantized networks";
  f.claim = "Adversarial examples transfer poorly from float to low-bitwidth networks and across bitwidths; the "
            "misalignment of their gradients and the shift of quantized values explain it (Bernhard et al. 2019).";
  f.summary = text;
  f.verdict = poor_transfer && misaligned ? "agrees" : poor_transfer || misaligned ? "mixed" : "disagrees";
  f.data = {{"samples", x.dim(0)},    {"max_iter", p.max_iter},       {"networks", heat.row_labels},
            {"matrix", matrix},       {"mean_white_box", diag},        {"mean_transfer", off},
            {"mean_cosine_with_float", mean_cosine}, {"value_shift", layers}};
  SLING_ASSIGN_OR_RETURN(std::string heat_png, render_heat_map(heat));
  f.plots.emplace_back("transfer_matrix.png", std::move(heat_png));
  SLING_ASSIGN_OR_RETURN(std::string cos_png, render_histogram(cosines));
  f.plots.emplace_back("gradient_cosine.png", std::move(cos_png));
  LinePlot shift_plot;
  shift_plot.title = "Quantization value shift in the int8 model, layer by layer";
  shift_plot.x_label = "layer (0: the quantized input)";
  shift_plot.y_label = "int8 codes changed";
  shift_plot.y_percent = true;
  shift_plot.y_min = 0;
  shift_plot.series = {shift_f, shift_8};
  SLING_ASSIGN_OR_RETURN(std::string shift_png, render_line_plot(shift_plot));
  f.plots.emplace_back("value_shift.png", std::move(shift_png));
  return f;
}

}  // namespace slingshot
