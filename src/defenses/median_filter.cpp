// Median smoothing, the second squeezer of Xu et al.'s feature squeezing (NDSS 2018):
// every value becomes the median of a size x size window around it, per channel, over
// images [N, H, W, C]; over waveforms [N, samples] the window is `size` samples long.
//
// It follows scipy.ndimage.median_filter(mode="reflect"), which Xu et al.'s EvadeML-Zoo
// calls, so their settings carry over:
//   - the window covers offsets -(size / 2) .. size - 1 - size / 2 (integer division):
//     an even window reaches one further up and left than down and right (size 2: the
//     value, the one above, the one to the left and the one diagonally up-left);
//   - borders are reflected with the edge value repeated (d c b a | a b c d);
//   - the median of an even count is the upper one (rank count / 2 of the sorted window).
// So every output is one of the input values: the output stays in the range and on its
// grid. Deterministic; its Jacobian is a selection that jumps whenever the order in a
// window changes, so attacks cross it with BPDA (the identity), as Athalye et al. do.
#include <algorithm>
#include <vector>

#include "defenses/preprocessor.h"
#include "defenses/signal_layout.h"

namespace slingshot {
namespace {

class MedianFilter final : public Preprocessor {
 public:
  explicit MedianFilter(int size) : size_(size) {}

  std::string name() const override { return "median_filter"; }
  PreprocessorSettings settings() const override { return {{"size", size_}}; }
  bool randomized() const override { return false; }
  bool differentiable() const override { return false; }

  Status apply(const Tensor& x, const InputDomain& domain, Rng& rng, Tensor& out) const override {
    (void)domain, (void)rng;
    SLING_ASSIGN_OR_RETURN(const SignalLayout l, signal_layout(x, name()));
    const int64_t rows = l.two_d ? size_ : 1, first = -(size_ / 2);
    const int64_t first_row = l.two_d ? first : 0;
    const int64_t C = l.channels;
    std::vector<float> window(static_cast<size_t>(rows * size_));
    const auto median = window.begin() + static_cast<std::ptrdiff_t>(window.size() / 2);
    out.resize(x.shape());
    for (int64_t n = 0; n < l.samples; ++n) {
      const float* plane = x.data() + n * l.height * l.width * C;
      float* dst = out.data() + n * l.height * l.width * C;
      for (int64_t i = 0; i < l.height; ++i)
        for (int64_t j = 0; j < l.width; ++j)
          for (int64_t c = 0; c < C; ++c) {
            size_t k = 0;
            for (int64_t di = 0; di < rows; ++di) {
              const float* row = plane + reflect_index(i + first_row + di, l.height) * l.width * C;
              for (int64_t dj = 0; dj < size_; ++dj) window[k++] = row[reflect_index(j + first + dj, l.width) * C + c];
            }
            std::nth_element(window.begin(), median, window.end());
            dst[(i * l.width + j) * C + c] = *median;
          }
    }
    return Status::Ok();
  }

 private:
  int size_;
};

}  // namespace

Result<std::unique_ptr<Preprocessor>> make_median_filter(const PreprocessorSettings& settings) {
  SLING_ASSIGN_OR_RETURN(const int size, whole_number_setting(settings, "size", 2, 7));
  return std::unique_ptr<Preprocessor>(new MedianFilter(size));
}

}  // namespace slingshot
