// Host-side dense tensors: a shape plus contiguous row-major (NHWC for images) storage.
// float is the training and inference type; double exists so gradient checks can run
// the very same layer code in float64.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace slingshot {

using Shape = std::vector<int64_t>;

// Number of elements of a shape; 1 for a scalar (rank 0).
int64_t shape_numel(const Shape& shape);
// "[1, 32, 32, 3]".
std::string shape_to_string(const Shape& shape);

template <class T>
class TensorT {
 public:
  using value_type = T;

  TensorT() = default;
  explicit TensorT(Shape shape, T fill = T(0)) : shape_(std::move(shape)), data_(shape_numel(shape_), fill) {}
  TensorT(Shape shape, std::vector<T> data) : shape_(std::move(shape)), data_(std::move(data)) {}

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int64_t numel() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  std::vector<T>& storage() { return data_; }
  const std::vector<T>& storage() const { return data_; }
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }

  // Resizes to `shape`; keeps the allocation when the size does not grow. Contents are unspecified.
  void resize(const Shape& shape) {
    shape_ = shape;
    data_.resize(shape_numel(shape_));
  }
  // Changes the shape without touching data; the element count must match.
  bool reshape(const Shape& shape) {
    if (shape_numel(shape) != numel()) return false;
    shape_ = shape;
    return true;
  }
  void fill(T v) { std::fill(data_.begin(), data_.end(), v); }

  template <class U>
  TensorT<U> cast() const {
    return TensorT<U>(shape_, std::vector<U>(data_.begin(), data_.end()));
  }

 private:
  Shape shape_;
  std::vector<T> data_;
};

using Tensor = TensorT<float>;
using TensorD = TensorT<double>;

// Samples [first, first + count) of a batch x [N, ...], copied: how batched evaluations
// cut a set into attack or predict calls.
Tensor batch_rows(const Tensor& x, int64_t first, int64_t count);

}  // namespace slingshot
