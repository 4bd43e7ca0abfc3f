// Patch attacks' shared machinery: pasting a square RGB patch onto images through a
// differentiable warp (location, scale, rotation; bilinear sampling), its backward pass,
// and the universal adversarial patch of Brown, Mané, Roy, Abadi & Gilmer 2017
// ("Adversarial Patch"), trained by expectation over transformation.
//
// Coordinates: pixel (row i, column j) has its centre at (x = j, y = i); patch pixel (r, c)
// of an s-pixel patch sits at (c - (s-1)/2, r - (s-1)/2) relative to the patch centre. An
// image pixel at (x, y) reads the patch at p = R(-angle) (x - cx, y - cy) / scale +
// (s-1)/2, bilinearly, clamped to the edge; it is covered (mask 1) when p lies in
// [-0.5, s - 0.5)^2, so the mask is the warped patch's support and does not depend on the
// patch values: x' = (1 - m) x + m warp(patch) is linear in the patch, and
// d(obj)/d(patch) is d(obj)/dx' pushed back through the bilinear weights.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "attacks/attack.h"
#include "attacks/target.h"
#include "attacks/threat_model.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/tensor.h"
#include "data/dataset.h"

namespace slingshot {

// Where and how one patch lands on one image.
struct PatchPlacement {
  float cx = 0;      // patch centre, image column coordinate (pixel j's centre is j)
  float cy = 0;      // patch centre, image row coordinate
  float scale = 1;   // side on the image / side of the patch
  float angle = 0;   // rotation in radians (counter-clockwise in (x, y) = (column, row) axes)
};

// The placement of a scale-1, unrotated patch whose top-left pixel is image pixel (row, col):
// its pixels land exactly on image pixels, so pasting copies them.
PatchPlacement placement_at(int row, int col, int side);

// The distribution random placements are drawn from (expectation over transformation).
struct PatchTransformRange {
  float scale_min = 1;       // smallest scale (side on the image / patch side)
  float scale_max = 1;       // largest scale
  float max_angle_deg = 0;   // rotations are uniform in [-max_angle_deg, max_angle_deg] degrees
};

// Checks a range for a patch of `side` pixels on H x W images: side >= 1, 0 < scale_min <=
// scale_max, the largest unrotated patch (side * scale_max) fits the image, 0 <= max_angle <= 180.
Status check_patch_transform(const PatchTransformRange& r, int H, int W, int side);

// A uniform scale and angle from `r`, then a uniform centre such that the rotated, scaled
// patch's bounding box lies inside the image (centred on an axis where it cannot).
PatchPlacement random_placement(Rng& rng, const PatchTransformRange& r, int H, int W, int side);

// Pastes `patch` [s, s, C] onto every image of `images` [N, H, W, C] at placements[n]
// (one per image) into `out` (images' shape). With `snap` set, the composite is snapped
// onto that domain's grid and range (pixel-valid mode: uncovered pixels keep their clean,
// on-grid values). `mask` (optional) receives the coverage [N, H, W] (0 or 1).
Status apply_patch(const Tensor& images, const Tensor& patch, std::span<const PatchPlacement> placements, Tensor& out,
                   const InputDomain* snap = nullptr, Tensor* mask = nullptr);

// d(obj)/d(patch) [s, s, C] summed over the batch, from d(obj)/dx' `grad_images`
// [N, H, W, C] of the composite apply_patch made with the same placements. Snapping is
// treated as the identity (straight-through).
Status patch_backward(const Tensor& grad_images, int side, std::span<const PatchPlacement> placements,
                      Tensor& grad_patch);

// Training settings of the universal patch.
struct UniversalPatchOptions {
  int side = 4;                             // patch side in pixels
  PatchTransformRange transforms;           // placement distribution
  int steps = 200;                          // optimization steps, one mini-batch each
  int batch_size = 16;                      // training images per step
  float learning_rate = 0.05f;              // Adam step size (sign steps: the step itself)
  bool adam = true;                         // Adam ascent; false: sign-gradient ascent
  int target = -1;                          // targeted: the class to reach (Brown et al.); -1: untargeted
  LossKind loss = LossKind::kCrossEntropy;  // objective to ascend
  bool pixel_valid = true;                  // evaluate gradients at the snapped composite; patch ends on the grid
};

// Trains a universal patch [side, side, C] on `train` against `target` (only loss_grad is
// used): starts from uniform noise, and each step draws a mini-batch (targeted: images not
// of the target class) and one random placement per image, ascends the objective
// (targeted: -CE toward o.target; untargeted: CE away from the labels) with respect to the
// patch pixels, and clamps the patch to the domain's range; the result is on the grid in
// pixel-valid mode.
Result<Tensor> train_universal_patch(Target& target, const Dataset& train, const UniversalPatchOptions& o, Rng& rng);

// The "patch" attack: pastes one universal patch at a random placement per sample, drawn
// from the rng. The patch is the one given to set_patch(), or, when none was set, one that
// run() trains on the batch it is given (steps, learning_rate and the transform extras).
// Universal-patch training settings from an attack's parameters (extras patch_size,
// scale_min, scale_max, max_angle, steps, learning_rate; target, loss, pixel validity)
// for H x W images, checked.
Result<UniversalPatchOptions> universal_patch_options(const AttackParams& p, int H, int W);

class PatchAttack final : public Attack {
 public:
  const char* name() const override { return "patch"; }
  AttackFamily family() const override { return AttackFamily::kPatch; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2, Norm::kL1, Norm::kL0}; }
  bool bounded_by_eps() const override { return false; }
  bool trains_on_dataset() const override { return true; }
  SharedParamUse shared_params() const override;
  std::vector<SettingSpec> settings() const override;
  Status check(const AttackParams& p) const override;
  Status run(Target& target, const AttackBatch& batch, const AttackParams& p, Rng& rng, Tensor& x_adv) override;

  // A trained patch [s, s, C] with values in [0, 1]; an empty tensor clears it.
  Status set_patch(Tensor patch);
  // Trains the patch on `train` with the settings of `p` (extras, target, loss, pixel
  // validity) and keeps it: the protocol that attacks held-out images afterwards.
  Status train(Target& target, const Dataset& train, const AttackParams& p, Rng& rng);
  const Tensor& patch() const { return patch_; }

 private:
  Tensor patch_;
};

std::unique_ptr<Attack> make_patch_attack();

}  // namespace slingshot
