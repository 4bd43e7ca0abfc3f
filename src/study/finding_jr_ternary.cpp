// Finding 7: the Jacobian-regularized ternary network against the plain int8 baseline
// (Zakariyya et al.), under white-box and black-box attacks, with flash and RAM beside
// each.
//
// PGD (STE gradients) at 4/255 and 8/255 and Square (1000 queries in a full run) at
// 8/255 against resnet8_int8, resnet8_ternary and resnet8_jr_ternary on their integer
// engines; flash is the weights, biases and scales as deployed, RAM the peak of live
// int8 activations.
#include "report/plot.h"
#include "study/study.h"

namespace slingshot {

Result<Finding> finding_jr_ternary(StudyContext& ctx) {
  const int64_t n = ctx.pick(32, 200), n_square = ctx.pick(8, 100);
  const Tensor x = ctx.images(n), x_square = ctx.images(n_square);
  const std::vector<int> y = ctx.labels(n), y_square = ctx.labels(n_square);
  struct Net {
    std::string name, stem;
  };
  const std::vector<Net> nets{{"int8", "resnet8_int8"}, {"ternary", "resnet8_ternary"}, {"JR ternary", "resnet8_jr_ternary"}};
  AttackParams pgd;
  pgd.max_iter = static_cast<int>(ctx.pick(5, 20));
  pgd.batch_size = 50;
  AttackParams square;
  square.eps = 8.0f / 255;
  square.max_queries = ctx.pick(200, 1000);
  square.batch_size = 50;

  HeatMap heat;
  heat.title = "Robust accuracy: Jacobian-regularized ternary against the int8 baseline";
  heat.row_axis = "network";
  heat.col_axis = "attack";
  heat.col_labels = {"clean", "PGD 4/255", "PGD 8/255", "Square 8/255"};
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::vector<double>> acc;
  for (const Net& net : nets) {
    SLING_ASSIGN_OR_RETURN(auto t, ctx.target(net.stem, EngineKind::kInt8Ref, GradientSource::kSte));
    SLING_ASSIGN_OR_RETURN(const QuantizedModel* m, ctx.model(net.stem));
    pgd.eps = 4.0f / 255;
    SLING_ASSIGN_OR_RETURN(const auto r4, ctx.attack_records("pgd", *t, x, y, pgd));
    pgd.eps = 8.0f / 255;
    SLING_ASSIGN_OR_RETURN(const auto r8, ctx.attack_records("pgd", *t, x, y, pgd));
    SLING_ASSIGN_OR_RETURN(auto simd, ctx.target(net.stem, EngineKind::kInt8Simd, GradientSource::kSte));
    SLING_ASSIGN_OR_RETURN(const auto rs, ctx.attack_records("square", *simd, x_square, y_square, square));
    const AttackSummary s4 = summarize(r4), s8 = summarize(r8), ss = summarize(rs);
    const int64_t flash = footprint(*m).total_bytes(), ram = peak_activation_bytes(m->graph, 1);
    acc.push_back({s4.clean_accuracy, s4.robust_accuracy, s8.robust_accuracy, ss.robust_accuracy});
    heat.row_labels.push_back(net.name + " (" + std::to_string(flash / 1024) + " KiB flash)");
    heat.values.push_back(acc.back());
    rows.push_back({{"model", net.stem},
                    {"clean_accuracy", s4.clean_accuracy},
                    {"pgd_4_255", s4.robust_accuracy},
                    {"pgd_8_255", s8.robust_accuracy},
                    {"square_8_255", ss.robust_accuracy},
                    {"square_samples", n_square},
                    {"square_queries", square.max_queries},
                    {"flash_bytes", flash},
                    {"ram_bytes", ram}});
  }
  const auto& base = acc[0];
  const auto& jr = acc[2];
  const bool white_box = jr[1] > base[1] + 0.05 || jr[2] > base[2] + 0.05;
  const bool black_box = jr[3] > base[3] + 0.05;
  char text[1200];
  std::snprintf(text, sizeof text,
                "On %lld evaluation images (Square on %lld, %lld queries): int8 %.3f clean, %.3f / %.3f under PGD at "
                "4/255 / 8/255 (%d iterations), %.3f under Square; plain ternary %.3f, %.3f / %.3f, %.3f; JR ternary "
                "%.3f, %.3f / %.3f, %.3f. Flash %lld / %lld / %lld bytes and activation RAM %lld / %lld / %lld bytes "
                "(int8 / ternary / JR ternary).",
                static_cast<long long>(n), static_cast<long long>(n_square), static_cast<long long>(square.max_queries),
                base[0], base[1], base[2], pgd.max_iter, base[3], acc[1][0], acc[1][1], acc[1][2], acc[1][3], jr[0], jr[1],
                jr[2], jr[3], static_cast<long long>(rows[0]["flash_bytes"].get<int64_t>()),
                static_cast<long long>(rows[1]["flash_bytes"].get<int64_t>()),
                static_cast<long long>(rows[2]["flash_bytes"].get<int64_t>()),
                static_cast<long long>(rows[0]["ram_bytes"].get<int64_t>()),
                static_cast<long long>(rows[1]["ram_bytes"].get<int64_t>()),
                static_cast<long long>(rows[2]["ram_bytes"].get<int64_t>()));
  Finding f;
  f.id = "jr_ternary";
  f.title = "Jacobian-regularized ternary network against the int8 baseline";
  f.claim = "A ternary network trained with Jacobian regularization is more robust than the plain int8 baseline under "
            "both white-box and black-box attacks, at a fraction of its flash (Zakariyya et al.).";
  f.summary = text;
  f.verdict = white_box && black_box ? "agrees" : white_box || black_box ? "mixed" : "disagrees";
  f.data = {{"samples", n}, {"max_iter", pgd.max_iter}, {"models", rows}};
  SLING_ASSIGN_OR_RETURN(std::string png, render_heat_map(heat, 820, 460));
  f.plots.emplace_back("jr_ternary.png", std::move(png));
  return f;
}

}  // namespace slingshot
