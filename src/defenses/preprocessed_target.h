// A Target behind input pre-processing defenses (defenses/preprocessor.h): every input
// passes the pre-processors in order, then the inner target (a model, an ensemble,
// another defended target).
//
// Its gradients are adaptive (Athalye, Carlini & Wagner 2018), so a defense is never
// credited for the gradient it masks:
//   bpda  one draw; backward crosses every non-differentiable pre-processor as the
//         identity and differentiable ones exactly; the inner target's own source
//         (ste, float, fd) gives the gradient at the pre-processed input;
//   eot   the value and gradient averaged over eot_samples independent draws, each
//         one with BPDA. Needs a randomized defense: it is refused otherwise.
// float, ste and fd belong to the model behind and are refused here; against a
// non-differentiable defense they would measure masking, not robustness.
//
// Randomized smoothing in the stack makes predict() Cohen et al.'s PREDICT: each draw of
// the whole stack votes with the inner target's top-1 class, the logits returned are the
// vote shares, and a row abstains (all NaN, which top1_class reads as class -1, so it
// counts as wrong for accuracy and as a success for an untargeted attack) unless the top
// class beats the runner-up in a two-sided binomial test at the defense's alpha. Its
// gradient is adaptive like any randomized defense: eot by default.
//
// differentiable_logits / backward_logits chain with BPDA semantics and one draw per
// call, so ensembles of defended models work. A randomized target draws from its own
// Rng, which attack_batch restarts per batch through reseed().
#pragma once

#include <memory>
#include <vector>

#include "attacks/target.h"
#include "defenses/preprocessor.h"

namespace slingshot {

struct PreprocessedTargetOptions {
  GradientSource source = GradientSource::kBpda;  // bpda or eot
  int eot_samples = 8;                            // eot: draws averaged per gradient (>= 1)
  uint64_t seed = 0;                              // the draws' stream until reseed()
};

// The adaptive default for a list of pre-processors: eot if any is randomized, else bpda.
GradientSource adaptive_gradient_source(const std::vector<std::unique_ptr<Preprocessor>>& preprocessors);

// Wraps `inner` behind `preprocessors` (applied in order; at least one).
Result<std::unique_ptr<Target>> make_preprocessed_target(std::unique_ptr<Target> inner,
                                                         std::vector<std::unique_ptr<Preprocessor>> preprocessors,
                                                         const PreprocessedTargetOptions& options);

}  // namespace slingshot
