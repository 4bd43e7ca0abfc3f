// Finding 5: train-based defenses (PGD adversarial training, TRADES) raise the distance
// to the decision boundary, and the gain survives int8 quantization.
//
// For the plain, PGD-trained and TRADES-trained ResNet-8 of the zoo: the minimal L2
// distance to the boundary (DeepFool, bisected) of each float master and of each int8
// model, and PGD robust accuracy at 8/255 on each int8 model.
#include <cmath>

#include "report/plot.h"
#include "study/study.h"

namespace slingshot {

Result<Finding> finding_train_defenses(StudyContext& ctx) {
  const int64_t n = ctx.pick(32, 200);
  const Tensor x = ctx.images(n);
  const std::vector<int> y = ctx.labels(n);
  struct Net {
    std::string name, stem;
  };
  const std::vector<Net> nets{{"plain", "resnet8_int8"}, {"PGD-AT", "resnet8_pgd_int8"}, {"TRADES", "resnet8_trades_int8"}};
  AttackParams pgd;
  pgd.eps = 8.0f / 255;
  pgd.max_iter = static_cast<int>(ctx.pick(5, 20));
  pgd.batch_size = 50;

  nlohmann::json rows = nlohmann::json::array();
  Histogram h;
  h.title = "Minimal L2 distance to the boundary of each int8 model (DeepFool, bisected)";
  h.x_label = "L2 distance";
  h.bins = 24;
  std::vector<double> float_median, int8_median, robust;
  for (const Net& net : nets) {
    SLING_ASSIGN_OR_RETURN(auto flt, ctx.target(net.stem, EngineKind::kFloat, GradientSource::kFloat));
    SLING_ASSIGN_OR_RETURN(auto int8, ctx.target(net.stem, EngineKind::kInt8Ref, GradientSource::kSte));
    SLING_ASSIGN_OR_RETURN(const BoundaryDistances df, ctx.boundary_distances(*flt, x, y));
    SLING_ASSIGN_OR_RETURN(const BoundaryDistances d8, ctx.boundary_distances(*int8, x, y));
    SLING_ASSIGN_OR_RETURN(const auto records, ctx.attack_records("pgd", *int8, x, y, pgd));
    const AttackSummary s = summarize(records);
    float_median.push_back(df.median);
    int8_median.push_back(d8.median);
    robust.push_back(s.robust_accuracy);
    h.series.push_back({net.name, d8.distance});
    rows.push_back({{"model", net.stem},
                    {"float_median_l2", df.median},
                    {"int8_median_l2", d8.median},
                    {"int8_clean_accuracy", s.clean_accuracy},
                    {"int8_pgd_8_255_robust_accuracy", s.robust_accuracy}});
  }
  // The gain of each trained model over the plain one, before and after quantization.
  bool raises = true, survives = true;
  for (size_t k = 1; k < nets.size(); ++k) {
    raises = raises && float_median[k] > 1.2 * float_median[0];
    survives = survives && int8_median[k] > 1.2 * int8_median[0];
  }
  char text[1000];
  std::snprintf(text, sizeof text,
                "On %lld evaluation images, the median L2 boundary distance of the float masters is %.3f (plain), %.3f "
                "(PGD-AT) and %.3f (TRADES); of the int8 models %.3f, %.3f and %.3f. PGD at 8/255 (%d iterations) leaves "
                "the int8 models %.3f, %.3f and %.3f robust accuracy.",
                static_cast<long long>(n), float_median[0], float_median[1], float_median[2], int8_median[0],
                int8_median[1], int8_median[2], pgd.max_iter, robust[0], robust[1], robust[2]);
  Finding f;
  f.id = "train_defenses";
  f.title = "Train-based defenses after quantization";
  f.claim = "Adversarial training (PGD, TRADES) moves the decision boundary away from the data, and the gain survives "
            "post-training int8 quantization.";
  f.summary = text;
  f.verdict = raises && survives ? "agrees" : raises || survives ? "mixed" : "disagrees";
  f.data = {{"samples", n}, {"models", rows}};
  SLING_ASSIGN_OR_RETURN(std::string png, render_histogram(h));
  f.plots.emplace_back("train_defenses_distance.png", std::move(png));
  return f;
}

}  // namespace slingshot
