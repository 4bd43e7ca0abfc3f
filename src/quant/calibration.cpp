// Min/max and percentile calibration over float forward passes.
#include "quant/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace slingshot {
namespace {

// Runs the graph over `samples` in batches and hands every node's output to `visit`.
template <class Visit>
Status for_each_batch(const Graph& graph, const Tensor& samples, int batch_size, double progress_lo,
                      double progress_hi, const CalibrationProgress& progress, Visit&& visit) {
  const int64_t n = samples.dim(0);
  const int64_t per_sample = samples.numel() / n;
  Workspace<float> ws;
  Tensor batch;
  for (int64_t b = 0; b < n; b += batch_size) {
    const int64_t count = std::min<int64_t>(batch_size, n - b);
    Shape shape = samples.shape();
    shape[0] = count;
    batch.resize(shape);
    std::copy(samples.data() + b * per_sample, samples.data() + (b + count) * per_sample, batch.data());
    SLING_RETURN_IF_ERROR(graph.forward(batch, ws, Mode::kInference, KernelPath::kSimd));
    for (int i = 0; i < graph.num_nodes(); ++i) visit(i, ws.values[i]);
    const double done = progress_lo + (progress_hi - progress_lo) * static_cast<double>(b + count) / n;
    if (progress && !progress(done)) return invalid_argument("calibration cancelled");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<ValueRange>> calibrate_ranges(const Graph& graph, const Tensor& samples,
                                                 const CalibrationOptions& o, const CalibrationProgress& progress) {
  if (samples.shape().empty() || samples.dim(0) < 1) return invalid_argument("calibration needs at least one sample");
  if (o.batch_size < 1) return invalid_argument("calibration batch size must be >= 1");
  if (o.method == CalibrationMethod::kPercentile && !(o.percentile > 50 && o.percentile <= 100))
    return invalid_argument("calibration percentile must be in (50, 100], got " + std::to_string(o.percentile));
  if (o.method == CalibrationMethod::kPercentile && (o.histogram_bins < 16 || o.histogram_bins > (1 << 20)))
    return invalid_argument("calibration histogram needs 16 to 2^20 bins");
  for (int64_t i = 0; i < samples.numel(); ++i)
    if (!std::isfinite(samples[i]))
      return invalid_argument("calibration sample value at flat index " + std::to_string(i) + " is not finite");

  const int nodes = graph.num_nodes();
  std::vector<ValueRange> range(nodes, {std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()});
  std::vector<bool> seen(nodes, false);
  const bool two_pass = o.method == CalibrationMethod::kPercentile;
  SLING_RETURN_IF_ERROR(for_each_batch(graph, samples, o.batch_size, 0.0, two_pass ? 0.5 : 1.0, progress,
                                       [&](int i, const Tensor& v) {
                                         if (v.numel() == 0) return;
                                         seen[i] = true;
                                         const auto [lo, hi] = std::minmax_element(v.data(), v.data() + v.numel());
                                         range[i].lo = std::min(range[i].lo, *lo);
                                         range[i].hi = std::max(range[i].hi, *hi);
                                       }));
  for (int i = 0; i < nodes; ++i) {
    if (!seen[i]) range[i] = {0, 0};  // not on the path to the output
    if (!std::isfinite(range[i].lo) || !std::isfinite(range[i].hi))
      return invalid_argument("node " + graph.node(i).name + " produced non-finite values during calibration");
  }
  if (!two_pass) return range;

  // Second pass: a histogram over [min, max] per node, then the percentiles.
  const int bins = o.histogram_bins;
  std::vector<std::vector<int64_t>> hist(nodes, std::vector<int64_t>(bins, 0));
  SLING_RETURN_IF_ERROR(for_each_batch(graph, samples, o.batch_size, 0.5, 1.0, progress, [&](int i, const Tensor& v) {
    const double lo = range[i].lo, width = static_cast<double>(range[i].hi) - lo;
    if (!(width > 0)) return;
    for (int64_t k = 0; k < v.numel(); ++k) {
      const int b = static_cast<int>(std::min<double>(bins - 1, (v[k] - lo) / width * bins));
      hist[i][std::max(b, 0)]++;
    }
  }));
  for (int i = 0; i < nodes; ++i) {
    const double lo = range[i].lo, width = static_cast<double>(range[i].hi) - lo;
    if (!(width > 0)) continue;
    int64_t total = 0;
    for (int64_t c : hist[i]) total += c;
    const double tail = total * (100.0 - o.percentile) / 100.0;
    // Lowest bin edge with at most `tail` values below it, highest with at most `tail` above.
    int64_t below = 0;
    int first = 0;
    while (first < bins - 1 && below + hist[i][first] <= tail) below += hist[i][first++];
    int64_t above = 0;
    int last = bins - 1;
    while (last > first && above + hist[i][last] <= tail) above += hist[i][last--];
    range[i].lo = static_cast<float>(lo + width * first / bins);
    range[i].hi = static_cast<float>(lo + width * (last + 1) / bins);
  }
  return range;
}

}  // namespace slingshot
