// Attacks on keyword spotting at the waveform level: a Target over 16-bit audio clips
// that runs the MLPerf Tiny MFCC front end (data/mfcc.h) in front of a target over MFCC
// features. Gradients flow back through the front end (mfcc_backward), so every attack
// perturbs the waveform, with eps in waveform units, and pixel-valid outputs are real
// 16-bit PCM clips.
#pragma once

#include <memory>

#include "attacks/target.h"
#include "data/mfcc.h"

namespace slingshot {

// `features` takes [frames, coefficients, 1] MFCC inputs (49 x 10 x 1 by default).
Result<std::unique_ptr<Target>> make_waveform_target(std::unique_ptr<Target> features, const MfccConfig& mfcc = {});

}  // namespace slingshot
