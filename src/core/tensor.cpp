// Shape helpers.
#include "core/tensor.h"

namespace slingshot {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor batch_rows(const Tensor& x, int64_t first, int64_t count) {
  const int64_t per = x.dim(0) > 0 ? x.numel() / x.dim(0) : 0;
  Shape shape = x.shape();
  shape[0] = count;
  return Tensor(shape, std::vector<float>(x.data() + first * per, x.data() + (first + count) * per));
}

}  // namespace slingshot
