// Patch warp, its backward, and the universal adversarial patch (Brown et al. 2017,
// "Adversarial Patch"): expectation over transformation, ascending the objective averaged
// over random images and random placements (location, scale, rotation) with respect to the
// patch pixels. The "patch" attack pastes a patch set beforehand with set_patch(), or,
// when none is set, one it trains on the batch it is given (see patch.h).
#include "attacks/patch.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace slingshot {
namespace {

// The (at most four) patch pixels an image pixel reads, with their bilinear weights.
struct Taps {
  int count = 0;
  int64_t index[4];  // r * side + c
  float weight[4];
};

struct Warp {
  float cos_a, sin_a, inv_scale, half;
  int side;
  float cx, cy;
  explicit Warp(const PatchPlacement& pl, int s)
      : cos_a(std::cos(pl.angle)),
        sin_a(std::sin(pl.angle)),
        inv_scale(1.0f / pl.scale),
        half(0.5f * static_cast<float>(s - 1)),
        side(s),
        cx(pl.cx),
        cy(pl.cy) {}

  // Whether image pixel (row i, column j) is covered, and if so its taps.
  bool taps(int i, int j, Taps& t) const {
    const float dx = static_cast<float>(j) - cx, dy = static_cast<float>(i) - cy;
    const float px = (cos_a * dx + sin_a * dy) * inv_scale + half;
    const float py = (-sin_a * dx + cos_a * dy) * inv_scale + half;
    const float edge = static_cast<float>(side) - 0.5f;
    if (!(px >= -0.5f && px < edge && py >= -0.5f && py < edge)) return false;
    const float qx = std::clamp(px, 0.0f, static_cast<float>(side - 1));
    const float qy = std::clamp(py, 0.0f, static_cast<float>(side - 1));
    const int x0 = static_cast<int>(std::floor(qx)), y0 = static_cast<int>(std::floor(qy));
    const int x1 = std::min(x0 + 1, side - 1), y1 = std::min(y0 + 1, side - 1);
    const float wx = qx - static_cast<float>(x0), wy = qy - static_cast<float>(y0);
    t.count = 0;
    const auto add = [&](int r, int c, float w) {
      if (w == 0.0f) return;
      t.index[t.count] = static_cast<int64_t>(r) * side + c;
      t.weight[t.count] = w;
      ++t.count;
    };
    add(y0, x0, (1 - wx) * (1 - wy));
    add(y0, x1, wx * (1 - wy));
    add(y1, x0, (1 - wx) * wy);
    add(y1, x1, wx * wy);
    return true;
  }
};

Status check_placements(std::span<const PatchPlacement> placements, int64_t n) {
  if (static_cast<int64_t>(placements.size()) != n)
    return invalid_argument(std::to_string(placements.size()) + " patch placements for " + std::to_string(n) + " images");
  for (size_t k = 0; k < placements.size(); ++k) {
    const PatchPlacement& pl = placements[k];
    if (!std::isfinite(pl.cx) || !std::isfinite(pl.cy) || !std::isfinite(pl.angle) || !std::isfinite(pl.scale) ||
        pl.scale <= 0)
      return invalid_argument("patch placement " + std::to_string(k) + " needs a finite centre and angle and a scale > 0");
  }
  return Status::Ok();
}

constexpr float kDegree = static_cast<float>(std::numbers::pi / 180.0);

}  // namespace

PatchPlacement placement_at(int row, int col, int side) {
  const float half = 0.5f * static_cast<float>(side - 1);
  return PatchPlacement{static_cast<float>(col) + half, static_cast<float>(row) + half, 1.0f, 0.0f};
}

Status check_patch_transform(const PatchTransformRange& r, int H, int W, int side) {
  if (side < 1) return invalid_argument("patch_size must be at least 1 pixel, got " + std::to_string(side));
  if (side > std::min(H, W))
    return invalid_argument("patch_size " + std::to_string(side) + " is larger than the " + std::to_string(H) + "x" +
                            std::to_string(W) + " image");
  if (!(std::isfinite(r.scale_min) && std::isfinite(r.scale_max) && r.scale_min > 0 && r.scale_min <= r.scale_max))
    return invalid_argument("patch scale range needs 0 < scale_min <= scale_max, got [" + std::to_string(r.scale_min) +
                            ", " + std::to_string(r.scale_max) + "]");
  if (static_cast<float>(side) * r.scale_max > static_cast<float>(std::min(H, W)) + 1e-4f)
    return invalid_argument("scale_max " + std::to_string(r.scale_max) + " makes the " + std::to_string(side) +
                            "-pixel patch larger than the " + std::to_string(H) + "x" + std::to_string(W) + " image");
  if (!(std::isfinite(r.max_angle_deg) && r.max_angle_deg >= 0 && r.max_angle_deg <= 180))
    return invalid_argument("max_angle (degrees) must be in [0, 180], got " + std::to_string(r.max_angle_deg));
  return Status::Ok();
}

PatchPlacement random_placement(Rng& rng, const PatchTransformRange& r, int H, int W, int side) {
  PatchPlacement pl;
  pl.scale = rng.uniform(r.scale_min, r.scale_max);
  pl.angle = rng.uniform(-r.max_angle_deg, r.max_angle_deg) * kDegree;
  // Half the side of the rotated, scaled patch's bounding box.
  const float extent = 0.5f * pl.scale * static_cast<float>(side) * (std::fabs(std::cos(pl.angle)) + std::fabs(std::sin(pl.angle)));
  const auto centre = [&](int size) {
    const float lo = extent - 0.5f, hi = static_cast<float>(size) - 0.5f - extent;
    const float u = rng.uniform();  // drawn either way, so the stream does not depend on the geometry
    return lo <= hi ? lo + (hi - lo) * u : 0.5f * static_cast<float>(size - 1);
  };
  pl.cx = centre(W);
  pl.cy = centre(H);
  return pl;
}

Status apply_patch(const Tensor& images, const Tensor& patch, std::span<const PatchPlacement> placements, Tensor& out,
                   const InputDomain* snap, Tensor* mask) {
  if (images.rank() != 4) return invalid_argument("patches are pasted onto images [N, H, W, C], got " + shape_to_string(images.shape()));
  const int64_t n = images.dim(0), H = images.dim(1), W = images.dim(2), C = images.dim(3);
  if (patch.rank() != 3 || patch.dim(0) != patch.dim(1) || patch.dim(2) != C || patch.dim(0) < 1)
    return invalid_argument("a patch is a square [s, s, " + std::to_string(C) + "], got " + shape_to_string(patch.shape()));
  SLING_RETURN_IF_ERROR(check_placements(placements, n));
  const int side = static_cast<int>(patch.dim(0));
  out = images;
  if (mask) mask->resize({n, H, W}), mask->fill(0.0f);
  Taps t;
  for (int64_t b = 0; b < n; ++b) {
    const Warp warp(placements[b], side);
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        if (!warp.taps(i, j, t)) continue;
        float* px = out.data() + ((b * H + i) * W + j) * C;
        for (int64_t c = 0; c < C; ++c) {
          float v = 0;
          for (int k = 0; k < t.count; ++k) v += t.weight[k] * patch[t.index[k] * C + c];
          px[c] = snap ? snap->snap(v) : v;
        }
        if (mask) (*mask)[(b * H + i) * W + j] = 1.0f;
      }
  }
  return Status::Ok();
}

Status patch_backward(const Tensor& grad_images, int side, std::span<const PatchPlacement> placements,
                      Tensor& grad_patch) {
  if (grad_images.rank() != 4)
    return invalid_argument("patch_backward takes image gradients [N, H, W, C], got " + shape_to_string(grad_images.shape()));
  if (side < 1) return invalid_argument("patch side must be at least 1, got " + std::to_string(side));
  const int64_t n = grad_images.dim(0), H = grad_images.dim(1), W = grad_images.dim(2), C = grad_images.dim(3);
  SLING_RETURN_IF_ERROR(check_placements(placements, n));
  grad_patch.resize({side, side, C});
  grad_patch.fill(0.0f);
  Taps t;
  for (int64_t b = 0; b < n; ++b) {
    const Warp warp(placements[b], side);
    for (int i = 0; i < H; ++i)
      for (int j = 0; j < W; ++j) {
        if (!warp.taps(i, j, t)) continue;
        const float* g = grad_images.data() + ((b * H + i) * W + j) * C;
        for (int k = 0; k < t.count; ++k)
          for (int64_t c = 0; c < C; ++c) grad_patch[t.index[k] * C + c] += t.weight[k] * g[c];
      }
  }
  return Status::Ok();
}

Result<Tensor> train_universal_patch(Target& target, const Dataset& train, const UniversalPatchOptions& o, Rng& rng) {
  const Shape in = target.input_shape();
  if (in.size() != 3) return invalid_argument("universal patches need image inputs [H, W, C], the target takes " + shape_to_string(in));
  if (train.inputs.rank() != 4 || train.sample_shape() != in || train.size() != train.inputs.dim(0))
    return invalid_argument("training images " + shape_to_string(train.inputs.shape()) + " do not match the target's input " +
                            shape_to_string(in) + " (or their labels)");
  if (train.size() == 0) return invalid_argument("universal patch training needs at least one training image");
  const int H = static_cast<int>(in[0]), W = static_cast<int>(in[1]);
  const int64_t C = in[2];
  SLING_RETURN_IF_ERROR(check_patch_transform(o.transforms, H, W, o.side));
  if (o.steps < 0) return invalid_argument("steps must be >= 0, got " + std::to_string(o.steps));
  if (o.batch_size < 1) return invalid_argument("batch_size must be >= 1, got " + std::to_string(o.batch_size));
  if (!(std::isfinite(o.learning_rate) && o.learning_rate > 0))
    return invalid_argument("learning_rate must be a finite number > 0, got " + std::to_string(o.learning_rate));
  const int classes = target.num_classes();
  if (o.target < -1 || o.target >= classes)
    return invalid_argument("target class " + std::to_string(o.target) + " is outside [0, " + std::to_string(classes) + ")");
  for (int label : train.labels)
    if (label < 0 || label >= classes)
      return invalid_argument("training label " + std::to_string(label) + " is outside [0, " + std::to_string(classes) + ")");

  // Targeted training learns from images the patch has to move; untargeted from all.
  std::vector<int64_t> pool;
  for (int64_t i = 0; i < train.size(); ++i)
    if (o.target < 0 || train.labels[i] != o.target) pool.push_back(i);
  if (pool.empty()) return invalid_argument("every training image already belongs to the target class");

  const InputDomain domain = target.domain();
  Tensor patch({o.side, o.side, C});
  for (int64_t i = 0; i < patch.numel(); ++i) patch[i] = rng.uniform(domain.lo, domain.hi);
  Tensor m(patch.shape(), 0.0f), v(patch.shape(), 0.0f);
  const float beta1 = 0.9f, beta2 = 0.999f;
  double beta1_t = 1, beta2_t = 1;

  const int bs = o.batch_size;
  std::vector<int64_t> idx(static_cast<size_t>(bs));
  std::vector<PatchPlacement> placements(static_cast<size_t>(bs));
  std::vector<int> labels, targets(o.target >= 0 ? static_cast<size_t>(bs) : 0, o.target);
  Tensor batch, pasted, value, grad, grad_patch;
  for (int step = 0; step < o.steps; ++step) {
    for (int k = 0; k < bs; ++k) {
      idx[k] = pool[rng.below(static_cast<uint32_t>(pool.size()))];
      placements[k] = random_placement(rng, o.transforms, H, W, o.side);
    }
    train.gather(idx, batch, labels);
    SLING_RETURN_IF_ERROR(apply_patch(batch, patch, placements, pasted, o.pixel_valid ? &domain : nullptr));
    if (!o.pixel_valid)
      for (int64_t i = 0; i < pasted.numel(); ++i) pasted[i] = std::clamp(pasted[i], domain.lo, domain.hi);
    const Objective objective{o.loss, labels, targets};
    SLING_RETURN_IF_ERROR(target.loss_grad(pasted, objective, value, grad));
    SLING_RETURN_IF_ERROR(patch_backward(grad, o.side, placements, grad_patch));
    if (o.adam) {
      beta1_t *= beta1;
      beta2_t *= beta2;
      for (int64_t i = 0; i < patch.numel(); ++i) {
        const float g = grad_patch[i] / static_cast<float>(bs);
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        const float mh = m[i] / static_cast<float>(1 - beta1_t), vh = v[i] / static_cast<float>(1 - beta2_t);
        patch[i] += o.learning_rate * mh / (std::sqrt(vh) + 1e-8f);
      }
    } else {
      for (int64_t i = 0; i < patch.numel(); ++i)
        patch[i] += o.learning_rate * static_cast<float>((grad_patch[i] > 0) - (grad_patch[i] < 0));
    }
    for (int64_t i = 0; i < patch.numel(); ++i) patch[i] = std::clamp(patch[i], domain.lo, domain.hi);
  }
  if (o.pixel_valid) snap_to_domain(patch, domain);
  return patch;
}

// ---- the "patch" attack ----

SharedParamUse PatchAttack::shared_params() const {
  SharedParamUse use = Attack::shared_params();
  use.loss = true;
  use.max_iter = false;
  return use;
}
std::vector<SettingSpec> PatchAttack::settings() const {
  return {{.name = "patch_size", .kind = SettingKind::kInteger, .default_value = std::numeric_limits<double>::quiet_NaN(), .min = 1, .max = 4096, .unit = "pixels",
           .doc = "patch side; default a quarter of the shorter image side"},
      {.name = "scale_min", .default_value = 1, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
       .doc = "smallest random scale of the patch while training (EOT)"},
      {.name = "scale_max", .default_value = 1, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
       .doc = "largest random scale (>= scale_min)"},
      {.name = "max_angle", .default_value = 0, .min = 0, .max = 180, .unit = "degrees",
       .doc = "largest random rotation while training"},
      {.name = "steps", .kind = SettingKind::kInteger, .default_value = 100, .min = 0, .max = 1000000,
       .doc = "training steps over the training images"},
      {.name = "learning_rate", .default_value = 0.05, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
       .doc = "sign-step size of the patch training"}};
}

Status PatchAttack::check(const AttackParams& p) const {
  const auto is_int = [](double v) { return v == std::floor(v); };
  if (p.extra.count("patch_size")) {
    const double s = setting(p, "patch_size");
    if (!(s >= 1 && is_int(s))) return invalid_argument("patch_size (the patch side in pixels) must be an integer >= 1, got " + std::to_string(s));
  }
  const double smin = setting(p, "scale_min"), smax = setting(p, "scale_max");
  if (!(smin > 0 && smin <= smax))
    return invalid_argument("the patch scale range needs 0 < scale_min <= scale_max, got [" + std::to_string(smin) + ", " +
                            std::to_string(smax) + "]");
  const double angle = setting(p, "max_angle");
  if (!(angle >= 0 && angle <= 180)) return invalid_argument("max_angle (degrees) must be in [0, 180], got " + std::to_string(angle));
  const double steps = setting(p, "steps");
  if (!(steps >= 0 && is_int(steps))) return invalid_argument("steps must be an integer >= 0, got " + std::to_string(steps));
  const double lr = setting(p, "learning_rate");
  if (!(lr > 0)) return invalid_argument("learning_rate must be > 0, got " + std::to_string(lr));
  if (p.targeted && p.target < 0)
    return invalid_argument("a universal patch reaches one class: targeted 'patch' needs a fixed target (target >= 0)");
  return Status::Ok();
}

Status PatchAttack::set_patch(Tensor patch) {
  if (!patch.empty()) {
    if (patch.rank() != 3 || patch.dim(0) != patch.dim(1) || patch.dim(0) < 1)
      return invalid_argument("a patch is a square [s, s, C], got " + shape_to_string(patch.shape()));
    for (int64_t i = 0; i < patch.numel(); ++i)
      if (!(patch[i] >= 0.0f && patch[i] <= 1.0f))
        return invalid_argument("patch value " + std::to_string(patch[i]) + " is outside [0, 1]");
  }
  patch_ = std::move(patch);
  return Status::Ok();
}

Status PatchAttack::run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) {
  SLING_RETURN_IF_ERROR(check(p));
  if (b.x0.rank() != 4) return invalid_argument("the patch attack needs images [N, H, W, C], got " + shape_to_string(b.x0.shape()));
  const int64_t n = b.x0.dim(0);
  const int H = static_cast<int>(b.x0.dim(1)), W = static_cast<int>(b.x0.dim(2));
  const int64_t C = b.x0.dim(3);
  const int default_side = std::max(1, static_cast<int>(std::lround(std::min(H, W) / 4.0)));
  const int asked = static_cast<int>(extra(p, "patch_size", patch_.empty() ? default_side : static_cast<double>(patch_.dim(0))));
  PatchTransformRange range{static_cast<float>(setting(p, "scale_min")), static_cast<float>(setting(p, "scale_max")),
                            static_cast<float>(setting(p, "max_angle"))};
  SLING_RETURN_IF_ERROR(check_patch_transform(range, H, W, asked));
  const InputDomain domain = target.domain();
  Tensor patch = patch_;
  if (!patch.empty()) {
    if (patch.dim(0) != asked)
      return invalid_argument("patch_size " + std::to_string(asked) + " differs from the side of the patch set (" +
                              std::to_string(patch.dim(0)) + ")");
    if (patch.dim(2) != C)
      return invalid_argument("the patch has " + std::to_string(patch.dim(2)) + " channels, the images " + std::to_string(C));
    if (p.pixel_valid) snap_to_domain(patch, domain);
  }
  x_adv = b.x0;
  if (n == 0) return Status::Ok();
  if (patch.empty()) {
    SLING_ASSIGN_OR_RETURN(UniversalPatchOptions o, universal_patch_options(p, H, W));
    Dataset own;
    own.inputs = b.x0;
    own.labels.assign(b.labels.begin(), b.labels.end());
    SLING_ASSIGN_OR_RETURN(patch, train_universal_patch(target, own, o, rng));
  }
  std::vector<PatchPlacement> placements(static_cast<size_t>(n));
  for (auto& pl : placements) pl = random_placement(rng, range, H, W, asked);
  const InputDomain continuous{domain.lo, domain.hi, 0.0f};
  return apply_patch(b.x0, patch, placements, x_adv, p.pixel_valid ? &domain : &continuous);
}

Result<UniversalPatchOptions> universal_patch_options(const AttackParams& p, int H, int W) {
  UniversalPatchOptions o;
  const PatchAttack schema;  // the settings' defaults
  o.side = static_cast<int>(Attack::extra(p, "patch_size", std::max(1L, std::lround(std::min(H, W) / 4.0))));
  o.transforms = {static_cast<float>(schema.setting(p, "scale_min")), static_cast<float>(schema.setting(p, "scale_max")),
                  static_cast<float>(schema.setting(p, "max_angle"))};
  SLING_RETURN_IF_ERROR(check_patch_transform(o.transforms, H, W, o.side));
  o.steps = static_cast<int>(schema.setting(p, "steps"));
  o.learning_rate = static_cast<float>(schema.setting(p, "learning_rate"));
  o.target = p.targeted ? p.target : -1;
  o.loss = p.loss;
  o.pixel_valid = p.pixel_valid;
  return o;
}

Status PatchAttack::train(Target& target, const Dataset& train, const AttackParams& p, Rng& rng) {
  SLING_RETURN_IF_ERROR(validate(p, target.num_classes()));
  const Shape s = target.input_shape();
  if (s.size() != 3) return invalid_argument("patch attacks need [H, W, C] image inputs, got " + shape_to_string(s));
  SLING_ASSIGN_OR_RETURN(UniversalPatchOptions o, universal_patch_options(p, static_cast<int>(s[0]), static_cast<int>(s[1])));
  SLING_ASSIGN_OR_RETURN(Tensor patch, train_universal_patch(target, train, o, rng));
  return set_patch(std::move(patch));
}

std::unique_ptr<Attack> make_patch_attack() { return std::make_unique<PatchAttack>(); }

}  // namespace slingshot
