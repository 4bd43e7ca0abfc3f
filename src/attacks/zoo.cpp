// ZOO (Chen, Zhang, Sharma, Yi & Hsieh, AISec 2017): zeroth-order optimization. Each
// iteration estimates the partial derivatives of C&W's margin (on the logits, which is
// the paper's log-probability margin) for a batch of `nb_parallel` coordinates by
// symmetric finite differences, (f(x + h e_i) - f(x - h e_i)) / 2h with h = variable_h
// (the paper's 1e-4), two queries each, and moves those coordinates by ZOO-ADAM
// (per-coordinate first and second moments and step counts, beta1 0.9, beta2 0.999,
// learning rate eps_step or the paper's 0.01).
// Coordinates are visited in a random order per sample (the paper samples them uniformly;
// its importance sampling is not implemented). `block` > 1 is the paper's attack-space
// reduction with nearest-neighbour upsampling: a coordinate is a block x block square of
// one channel, moved as one (ZOO's hierarchical attack grows this space; here it is
// fixed). Single pixels rarely move an int8 model's logits, blocks do. The bounded
// threat model replaces the paper's distortion penalty: the iterate is projected onto the
// eps-ball (Linf or L2) from a continuous state, and evaluated on the grid in pixel-valid
// mode, where h is rounded up to whole grid steps so that every query is a real image.
// Each iteration spends 2 x nb_parallel queries plus one at the new point, which stops a
// sample once it succeeds; no sample exceeds max_queries (max_iter is not used).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "attacks/score_based.h"

namespace slingshot {
namespace {

class Zoo final : public ScoreBasedAttack {
 public:
  const char* name() const override { return "zoo"; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = true;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "nb_parallel", .kind = SettingKind::kInteger, .default_value = 128, .min = 1, .max = 1000000,
             .doc = "coordinates estimated per iteration"},
        {.name = "variable_h", .default_value = 0.0001, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true, .unit = "input",
         .doc = "finite-difference step (at least one grid step in pixel-valid mode)"},
        {.name = "block", .kind = SettingKind::kInteger, .default_value = 1, .min = 1, .max = 4096, .unit = "pixels",
         .doc = "side of the pixel square one coordinate moves"}};
  }
  Status check(const AttackParams& p) const override {
    const double coords = setting(p, "nb_parallel");
    if (!(coords >= 1) || coords != std::floor(coords))
      return invalid_argument("zoo: nb_parallel (coordinates per iteration) must be a whole number >= 1, got " +
                              std::to_string(coords));
    const double h = setting(p, "variable_h");
    if (!(h > 0)) return invalid_argument("zoo: variable_h (the finite-difference step) must be > 0, got " + std::to_string(h));
    const double block = setting(p, "block");
    if (!(block >= 1) || block != std::floor(block))
      return invalid_argument("zoo: block (side of the pixel square one coordinate moves) must be a whole number >= 1, got " +
                              std::to_string(block));
    return Status::Ok();
  }

 protected:
  Status search(ScoreOracle& oracle, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    const InputDomain& d = oracle.domain();
    const int64_t n = oracle.num_samples(), per = oracle.sample_size();
    // [H, W, C] per sample (1-D inputs are one row), cut into block x block squares per channel.
    const SampleGeometry g = sample_geometry(oracle.batch_shape());
    const int64_t side = static_cast<int64_t>(setting(p, "block"));
    const int64_t bh = g.h == 1 ? 1 : std::min(side, g.h), bw = std::min(side, g.w);
    const int64_t rows_b = (g.h + bh - 1) / bh, cols_b = (g.w + bw - 1) / bw, dims = rows_b * cols_b * g.c;
    // The input indices of coordinate `index` (block row, block column, channel).
    std::vector<int64_t> members;
    auto members_of = [&](int64_t index) {
      members.clear();
      const int64_t ch = index % g.c, blk = index / g.c, r0 = (blk / cols_b) * bh, c0 = (blk % cols_b) * bw;
      for (int64_t i = r0; i < std::min(g.h, r0 + bh); ++i)
        for (int64_t j = c0; j < std::min(g.w, c0 + bw); ++j) members.push_back((i * g.w + j) * g.c + ch);
    };
    const int64_t coords = static_cast<int64_t>(setting(p, "nb_parallel"));
    const double h = setting(p, "variable_h");
    ProbeOffset probe{d, p.pixel_valid && d.levels > 0, 0.0f, static_cast<float>(h)};
    if (probe.on_grid) probe.grid_steps = std::max(1.0f, std::ceil(static_cast<float>(h) * d.levels - 1e-3f));
    const float lr = p.eps_step > 0 ? p.eps_step : 0.01f;

    std::vector<float> m(static_cast<size_t>(n * dims), 0.0f), v(m.size(), 0.0f);
    std::vector<int32_t> steps(m.size(), 0);
    std::vector<std::vector<int32_t>> order(static_cast<size_t>(n));
    std::vector<int64_t> pos(static_cast<size_t>(n), 0);
    auto draw_order = [&](std::vector<int32_t>& o) {
      o.resize(static_cast<size_t>(dims));
      std::iota(o.begin(), o.end(), 0);
      for (int64_t i = dims - 1; i > 0; --i) std::swap(o[i], o[rng.below(static_cast<uint32_t>(i + 1))]);
    };
    if (per > 0)
      for (auto& o : order) draw_order(o);

    Shape row_shape = oracle.batch_shape();
    std::vector<int32_t> chosen;
    Tensor logits;
    auto step = [&](int64_t s, int64_t count, const float* xs, float* xc) -> Status {
      chosen.clear();
      for (int64_t j = 0; j < count; ++j) {
        if (pos[s] == dims) {
          draw_order(order[s]);
          pos[s] = 0;
        }
        chosen.push_back(order[s][pos[s]++]);
      }
      row_shape[0] = 2 * count;
      Tensor q(row_shape);
      std::vector<float> spread(static_cast<size_t>(count));
      for (int64_t j = 0; j < count; ++j) {
        float* plus = q.data() + (2 * j) * per;
        float* minus = plus + per;
        std::copy(xs, xs + per, plus);
        std::copy(xs, xs + per, minus);
        // The difference quotient divides by the mean step the block actually took (clamps at the range ends).
        members_of(chosen[j]);
        double taken = 0;
        for (int64_t i : members) {
          plus[i] = probe.apply(xs[i], 1.0f);
          minus[i] = probe.apply(xs[i], -1.0f);
          taken += plus[i] - minus[i];
        }
        spread[j] = static_cast<float>(taken / static_cast<double>(members.size()));
      }
      SLING_RETURN_IF_ERROR(oracle.query_sample(s, q, logits));
      for (int64_t j = 0; j < count; ++j) {
        const float fp = oracle.margin(s, logits, 2 * j);
        const float fm = oracle.margin(s, logits, 2 * j + 1);
        const double grad = spread[j] > 0 ? (static_cast<double>(fp) - fm) / spread[j] : 0.0;
        const int64_t at = s * dims + chosen[j];
        const float move = adam_move(m[at], v[at], grad, adam_corrections(++steps[at]), lr);
        members_of(chosen[j]);
        for (int64_t i : members) xc[i] += move;
      }
      return Status::Ok();
    };
    return ascend_by_probe_pairs(oracle, p, coords, step, x_adv);
  }
};

}  // namespace

std::unique_ptr<Attack> make_zoo_attack() { return std::make_unique<Zoo>(); }

}  // namespace slingshot
