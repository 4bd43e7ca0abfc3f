// Batch normalization: forward and exact backward for both training and inference modes.
#include "model/layers/batch_norm.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/json_fields.h"

namespace slingshot {

// Parameter order: gamma, beta (trainable), running_mean, running_var (buffers).
BatchNorm::BatchNorm(const BatchNormConfig& c) : config_(c) {
  params_.push_back({"gamma", Tensor({c.channels}, 1.0f), true});
  params_.push_back({"beta", Tensor({c.channels}, 0.0f), true});
  params_.push_back({"running_mean", Tensor({c.channels}, 0.0f), false});
  params_.push_back({"running_var", Tensor({c.channels}, 1.0f), false});
}

Result<std::unique_ptr<Layer>> BatchNorm::from_json(const nlohmann::json& j) {
  BatchNormConfig c;
  SLING_ASSIGN_OR_RETURN(c.channels, json_int(j, "channels", 1, 1 << 16));
  SLING_ASSIGN_OR_RETURN(double eps, json_number(j, "epsilon", 1e-12, 1.0));
  c.epsilon = static_cast<float>(eps);
  return std::unique_ptr<Layer>(new BatchNorm(c));
}

void BatchNorm::to_json(nlohmann::json& j) const {
  j["channels"] = config_.channels;
  j["epsilon"] = config_.epsilon;
}

Result<Shape> BatchNorm::output_shape(std::span<const Shape> inputs) const {
  const Shape& s = inputs[0];
  if (s.size() != 2 && s.size() != 4)
    return invalid_argument("batch_norm expects a rank-2 or rank-4 input, got " + shape_to_string(s));
  if (s.back() != config_.channels)
    return invalid_argument("batch_norm expects " + std::to_string(config_.channels) + " channels, got " +
                            shape_to_string(s));
  return s;
}

// Cache layout: [0] mean, [1] biased variance (the statistics used), [2] x_hat,
// [3] one value, 1 if the statistics came from the batch (training mode).
template <class T>
Status BatchNorm::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  SLING_RETURN_IF_ERROR(output_shape(std::span<const Shape>(&x.shape(), 1)).status());
  const int64_t c = config_.channels, rows = x.numel() / c;
  std::vector<T> gamma_buf, beta_buf, mean_buf, var_buf;
  const T* gamma = param_as<T>(params_[0].value, gamma_buf);
  const T* beta = param_as<T>(params_[1].value, beta_buf);
  auto& cache = *a.cache;
  cache.resize(4);
  cache[0].resize({c});
  cache[0].fill(T(0));
  cache[1].resize({c});
  cache[1].fill(T(0));
  cache[2].resize(x.shape());
  cache[3] = TensorT<T>({1}, a.mode == Mode::kTrain ? T(1) : T(0));
  T* mean = cache[0].data();
  T* var = cache[1].data();
  if (a.mode == Mode::kTrain) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < c; ++k) mean[k] += x[r * c + k];
    for (int64_t k = 0; k < c; ++k) mean[k] /= static_cast<T>(rows);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < c; ++k) {
        const T d = x[r * c + k] - mean[k];
        var[k] += d * d;
      }
    for (int64_t k = 0; k < c; ++k) var[k] /= static_cast<T>(rows);
  } else {
    const T* rm = param_as<T>(params_[2].value, mean_buf);
    const T* rv = param_as<T>(params_[3].value, var_buf);
    std::copy(rm, rm + c, mean);
    std::copy(rv, rv + c, var);
  }
  a.output->resize(x.shape());
  T* xhat = cache[2].data();
  std::vector<T> inv_std(c);
  for (int64_t k = 0; k < c; ++k) inv_std[k] = T(1) / std::sqrt(var[k] + static_cast<T>(config_.epsilon));
  const T* in = x.data();
  T* out = a.output->data();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) {
      xhat[r * c + k] = (in[r * c + k] - mean[k]) * inv_std[k];
      out[r * c + k] = gamma[k] * xhat[r * c + k] + beta[k];
    }
  return Status::Ok();
}

template <class T>
Status BatchNorm::backward_t(const BackwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  const TensorT<T>& dy = *a.grad_output;
  const auto& cache = *a.cache;
  const int64_t c = config_.channels, rows = x.numel() / c;
  const T* var = cache[1].data();
  const T* xhat = cache[2].data();
  std::vector<T> gamma_buf;
  const T* gamma = param_as<T>(params_[0].value, gamma_buf);
  std::vector<T> sum_dy(c, T(0)), sum_dy_xhat(c, T(0));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) {
      sum_dy[k] += dy[r * c + k];
      sum_dy_xhat[k] += dy[r * c + k] * xhat[r * c + k];
    }
  if (!a.grad_params.empty()) {
    for (int64_t k = 0; k < c; ++k) {
      a.grad_params[0][k] = sum_dy_xhat[k];
      a.grad_params[1][k] = sum_dy[k];
    }
    a.grad_params[2].fill(T(0));
    a.grad_params[3].fill(T(0));
  }
  if (!a.grad_inputs[0]) return Status::Ok();
  TensorT<T>& dx = *a.grad_inputs[0];
  dx.resize(x.shape());
  // Batch statistics depend on x, which adds the two mean terms; running ones do not.
  const bool batch_stats = cache[3][0] != T(0);
  // dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy * x_hat)) with batch statistics.
  const T m = static_cast<T>(rows);
  std::vector<T> scale(c), shift(c), slope(c);
  for (int64_t k = 0; k < c; ++k) {
    scale[k] = gamma[k] / std::sqrt(var[k] + static_cast<T>(config_.epsilon));
    shift[k] = batch_stats ? sum_dy[k] / m : T(0);
    slope[k] = batch_stats ? sum_dy_xhat[k] / m : T(0);
  }
  const T* g = dy.data();
  T* d = dx.data();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < c; ++k) {
      const int64_t i = r * c + k;
      d[i] = scale[k] * (g[i] - shift[k] - xhat[i] * slope[k]);
    }
  return Status::Ok();
}

void BatchNorm::update_running_stats(const std::vector<Tensor>& cache, float momentum) {
  if (cache.size() != 4 || cache[3][0] == 0.0f) return;
  const int64_t c = config_.channels;
  const int64_t rows = cache[2].numel() / c;
  // Running variance is unbiased, as in PyTorch and Keras.
  const float unbias = rows > 1 ? static_cast<float>(rows) / static_cast<float>(rows - 1) : 1.0f;
  for (int64_t k = 0; k < c; ++k) {
    params_[2].value[k] = momentum * params_[2].value[k] + (1 - momentum) * cache[0][k];
    params_[3].value[k] = momentum * params_[3].value[k] + (1 - momentum) * cache[1][k] * unbias;
  }
}

SLING_INSTANTIATE_LAYER(BatchNorm);

}  // namespace slingshot
