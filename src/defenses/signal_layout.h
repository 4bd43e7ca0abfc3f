// What the spatial pre-processors (median_filter, spatial_smoothing, tv_minimization)
// share: the two input layouts they filter, images and waveforms, seen as one; the
// reflected border they pad with; and the bounded-range check of those that rescale
// values to the range.
#pragma once

#include <cstdint>
#include <string>

#include "attacks/threat_model.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// An input as `samples` planes of height x width, each with `channels` interleaved
// values (NHWC). Images [N, H, W, C] are 2-D; waveforms [N, samples] are 1-D, read as
// [N, 1, samples, 1] and filtered along the samples only.
struct SignalLayout {
  int64_t samples = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  bool two_d = false;  // filter along height too (images), not only along width (waveforms)
};

// x's layout, or an error naming `defense` and x's shape if x is neither an image batch
// nor a waveform batch.
Result<SignalLayout> signal_layout(const Tensor& x, const std::string& defense);

// Refuses an unbounded input range, which `defense` cannot rescale.
Status check_bounded_domain(const InputDomain& domain, const std::string& defense);

// Index i folded into [0, n) by reflecting about the borders with the edge value
// repeated (d c b a | a b c d | d c b a): scipy.ndimage's "reflect", OpenCV's
// BORDER_REFLECT. Any i works, however far outside, so windows may exceed the signal.
inline int64_t reflect_index(int64_t i, int64_t n) {
  const int64_t period = 2 * n;
  int64_t k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - 1 - k;
}

}  // namespace slingshot
