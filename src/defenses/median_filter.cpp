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
// grid. Deterministic and piecewise linear: each output is a selection of one window
// value, so its Jacobian is a 0/1 routing that is exact wherever the window's order is
// strict. backward() routes each output's gradient to the value the median picked;
// where several window values tie with the median (flat regions of 8-bit images), it
// splits the gradient equally among them, the mean of the one-sided derivatives. This
// exact sub-gradient is registered differentiable, so attacks take it instead of
// crossing the filter as the identity (BPDA).
#include <algorithm>
#include <vector>

#include "defenses/preprocessor.h"
#include "defenses/signal_layout.h"

namespace slingshot {
namespace {

// The window of one output value: the input values it reads and where they are.
class Window {
 public:
  Window(const SignalLayout& l, int size)
      : l_(l), size_(size), rows_(l.two_d ? size : 1), first_(-(size / 2)), first_row_(l.two_d ? first_ : 0) {
    values_.resize(static_cast<size_t>(rows_ * size_));
    offsets_.resize(values_.size());
  }

  // Fills the window of output k (a flat NHWC index).
  Window& gather(const Tensor& x, int64_t k) {
    const int64_t C = l_.channels, c = k % C, j = (k / C) % l_.width, i = (k / C / l_.width) % l_.height;
    const int64_t plane = k - ((i * l_.width + j) * C + c);
    size_t e = 0;
    for (int64_t di = 0; di < rows_; ++di) {
      const int64_t row = plane + reflect_index(i + first_row_ + di, l_.height) * l_.width * C;
      for (int64_t dj = 0; dj < size_; ++dj, ++e) {
        offsets_[e] = row + reflect_index(j + first_ + dj, l_.width) * C + c;
        values_[e] = x[offsets_[e]];
      }
    }
    return *this;
  }
  // The upper median of the gathered values (rank count / 2 of the sorted window).
  float median() {
    sorted_ = values_;
    const auto mid = sorted_.begin() + static_cast<std::ptrdiff_t>(sorted_.size() / 2);
    std::nth_element(sorted_.begin(), mid, sorted_.end());
    return *mid;
  }
  size_t size() const { return values_.size(); }
  float value(size_t e) const { return values_[e]; }
  int64_t offset(size_t e) const { return offsets_[e]; }

 private:
  SignalLayout l_;
  int64_t size_, rows_, first_, first_row_;
  std::vector<float> values_, sorted_;
  std::vector<int64_t> offsets_;
};

class MedianFilter final : public Preprocessor {
 public:
  explicit MedianFilter(int size) : size_(size) {}

  std::string name() const override { return "median_filter"; }
  PreprocessorSettings settings() const override { return {{"size", size_}}; }
  bool randomized() const override { return false; }
  bool differentiable() const override { return true; }

  Status apply(const Tensor& x, const InputDomain& domain, Rng& rng, Tensor& out) const override {
    (void)domain, (void)rng;
    SLING_ASSIGN_OR_RETURN(const SignalLayout l, signal_layout(x, name()));
    Window w(l, size_);
    out.resize(x.shape());
    for (int64_t k = 0; k < x.numel(); ++k) out[k] = w.gather(x, k).median();
    return Status::Ok();
  }

  // dx[v] = the sum over outputs k that picked v of dout[k] (split among ties).
  Status backward(const Tensor& x, const Tensor& out, const InputDomain& domain, const Tensor& dout,
                  Tensor& dx) const override {
    (void)domain;
    SLING_ASSIGN_OR_RETURN(const SignalLayout l, signal_layout(x, name()));
    if (dout.shape() != x.shape() || out.shape() != x.shape())
      return invalid_argument("median_filter backward: the gradient's shape " + shape_to_string(dout.shape()) +
                              " differs from the input's " + shape_to_string(x.shape()));
    Window w(l, size_);
    dx = Tensor(x.shape(), 0.0f);
    for (int64_t k = 0; k < x.numel(); ++k) {
      if (dout[k] == 0) continue;
      w.gather(x, k);
      const float picked = out[k];
      int ties = 0;
      for (size_t e = 0; e < w.size(); ++e) ties += w.value(e) == picked;
      if (ties == 0) return internal_error("median_filter backward: the output is not a value of its window");
      const float share = dout[k] / static_cast<float>(ties);
      for (size_t e = 0; e < w.size(); ++e)
        if (w.value(e) == picked) dx[w.offset(e)] += share;
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
