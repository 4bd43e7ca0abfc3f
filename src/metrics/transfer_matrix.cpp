// The transferability matrix (see transfer_matrix.h).
#include "metrics/transfer_matrix.h"

#include <algorithm>
#include <limits>

#include "metrics/accuracy.h"

namespace slingshot {

Result<TransferMatrix> transfer_matrix(Attack& attack, std::span<const TransferEndpoint> endpoints, const Tensor& x,
                                       std::span<const int> y, const AttackParams& params) {
  if (endpoints.empty()) return invalid_argument("a transfer matrix needs at least one model");
  if (x.rank() < 2 || x.dim(0) == 0 || x.dim(0) != static_cast<int64_t>(y.size()))
    return invalid_argument("a transfer matrix needs [N, ...] inputs with one label each");
  for (const TransferEndpoint& e : endpoints) {
    if (!e.target) return invalid_argument("transfer endpoint '" + e.name + "' is missing");
    if (e.target->input_shape() != endpoints[0].target->input_shape() ||
        e.target->num_classes() != endpoints[0].target->num_classes())
      return invalid_argument("'" + e.name + "' takes other inputs or classes than '" + endpoints[0].name + "'");
  }
  if (params.targeted) return invalid_argument("the transfer matrix measures untargeted transfer; drop targeted");
  const int64_t n = x.dim(0), per = x.numel() / n, batch_size = std::max(1, params.batch_size);
  const size_t m = endpoints.size();

  std::vector<std::vector<int>> clean(m);
  for (size_t t = 0; t < m; ++t) {
    SLING_ASSIGN_OR_RETURN(clean[t], classify(*endpoints[t].target, x, batch_size));
  }
  TransferMatrix out;
  out.cells.assign(m, std::vector<TransferCell>(m));
  Tensor batch;
  for (size_t s = 0; s < m; ++s) {
    out.names.push_back(endpoints[s].name);
    Tensor adversarial(x.shape());
    std::vector<bool> attacked(static_cast<size_t>(n), false);
    for (int64_t first = 0; first < n; first += batch_size) {
      const int64_t count = std::min(batch_size, n - first);
      batch = batch_rows(x, first, count);
      SLING_ASSIGN_OR_RETURN(BatchOutcome o, attack_batch(attack, *endpoints[s].target, batch,
                                                          y.subspan(static_cast<size_t>(first), count), first, params));
      std::copy(o.x_adv.data(), o.x_adv.data() + count * per, adversarial.data() + first * per);
      for (int64_t i = 0; i < count; ++i) attacked[static_cast<size_t>(first + i)] = o.records[static_cast<size_t>(i)].attacked;
    }
    for (size_t t = 0; t < m; ++t) {
      SLING_ASSIGN_OR_RETURN(const std::vector<int> predicted, classify(*endpoints[t].target, adversarial, batch_size));
      TransferCell& cell = out.cells[s][t];
      for (int64_t i = 0; i < n; ++i) {
        const size_t k = static_cast<size_t>(i);
        if (!attacked[k] || clean[s][k] != y[k] || clean[t][k] != y[k]) continue;
        ++cell.eligible;
        cell.fooled += predicted[k] != y[k];
      }
      cell.rate = cell.eligible ? static_cast<double>(cell.fooled) / static_cast<double>(cell.eligible)
                                : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return out;
}

}  // namespace slingshot
