// Layouts and range checks shared by the spatial pre-processors (see signal_layout.h).
#include "defenses/signal_layout.h"

#include <cmath>

namespace slingshot {

Result<SignalLayout> signal_layout(const Tensor& x, const std::string& defense) {
  SignalLayout l;
  if (x.rank() == 4) {
    l = {x.dim(0), x.dim(1), x.dim(2), x.dim(3), true};
  } else if (x.rank() == 2) {
    l = {x.dim(0), 1, x.dim(1), 1, false};
  } else {
    return invalid_argument(defense + " filters images [N, H, W, C] or waveforms [N, samples], got " +
                            shape_to_string(x.shape()));
  }
  if (l.height < 1 || l.width < 1 || l.channels < 1)
    return invalid_argument(defense + " needs a non-empty input, got " + shape_to_string(x.shape()));
  return l;
}

Status check_bounded_domain(const InputDomain& domain, const std::string& defense) {
  if (std::isfinite(domain.lo) && std::isfinite(domain.hi) && domain.lo < domain.hi) return Status::Ok();
  return invalid_argument(defense + " needs a bounded input range, got [" + std::to_string(domain.lo) + ", " +
                          std::to_string(domain.hi) + "]");
}

}  // namespace slingshot
