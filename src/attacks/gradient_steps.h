// Building blocks of the gradient attacks (FGSM, BIM, PGD, MI-FGSM, APGD, ...): steepest
// ascent steps per norm, random starts inside the ball, and the pixel-valid iterate.
#pragma once

#include "attacks/attack.h"
#include "attacks/threat_model.h"
#include "core/rng.h"
#include "core/tensor.h"

#include <functional>

namespace slingshot {

// x += step * (the steepest-ascent direction of `grad` for `norm`), per sample:
// sign(g) for Linf, g / ||g||_2 for L2, g / ||g||_1 for L1. L0 is not a gradient norm
// here (the L0 attacks are JSMA, EAD-style and the black-box ones).
void ascend(Tensor& x, const Tensor& grad, Norm norm, float step);

// A uniform random point of the eps-ball around x0 (Linf: per value; L2 and L1: a random
// direction scaled by a random radius), clipped to the domain.
void random_start(Tensor& x, const Tensor& x0, Norm norm, float eps, const InputDomain& domain, Rng& rng);

// Pixel-valid iterates: the attack keeps a continuous iterate (so steps smaller than
// half a grid step still accumulate), and evaluates and reports its projection onto the
// grid, which is what the deployed model reads.
// `continuous` is projected into the ball and range; `evaluated` receives its grid version.
void project_iterate(Tensor& continuous, Tensor& evaluated, const Tensor& x0, Norm norm, float eps,
                     const InputDomain& domain, bool pixel_valid);

// The iterated gradient ascent shared by BIM, PGD and MI-FGSM: `max_iter` steps of size
// `step` from `start` (continuous, inside the ball), each at the grid point the deployed
// model would read; with momentum_decay > 0 the step follows MI-FGSM's accumulated
// L1-normalized gradient. Writes the final evaluated iterate to x_adv.
Status iterate_gradient_ascent(Target& target, const AttackBatch& batch, const AttackParams& p, float step,
                               float momentum_decay, Tensor start, Tensor& x_adv);

// Runs `attempt` 1 + num_random_init times (the first from x0 when num_random_init is 0,
// else every one from a random start) and keeps, per sample, the first attempt that
// succeeds on the deployed engine, else the last.
Status with_restarts(Target& target, const AttackBatch& batch, const AttackParams& p, Rng& rng,
                     const std::function<Status(const Tensor& start, Tensor& x_adv)>& attempt, Tensor& x_adv);

}  // namespace slingshot
