// 2-D convolution layer: shape checks, serialization, and dispatch to ref or SIMD kernels.
#include "model/layers/conv2d.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "kernels/ref/add__ref.h"
#include "kernels/ref/conv2d__ref.h"
#include "kernels/ref/relu__ref.h"
#include "kernels/simd/conv2d_f32__simd.h"
#include "kernels/simd/conv2d_winograd_f32__simd.h"
#include "model/json_fields.h"

namespace slingshot {

Conv2D::Conv2D(const Conv2DConfig& c) : config_(c) {
  params_.push_back({"weight", Tensor({c.filters, c.kernel_h, c.kernel_w, c.in_channels}), true});
  if (c.use_bias) params_.push_back({"bias", Tensor({c.filters}), true});
}

Result<std::unique_ptr<Layer>> Conv2D::from_json(const nlohmann::json& j) {
  Conv2DConfig c;
  SLING_ASSIGN_OR_RETURN(c.in_channels, json_int(j, "in_channels", 1, 1 << 16));
  SLING_ASSIGN_OR_RETURN(c.filters, json_int(j, "filters", 1, 1 << 16));
  SLING_ASSIGN_OR_RETURN(auto k, json_int_pair(j, "kernel", 1, 64));
  SLING_ASSIGN_OR_RETURN(auto s, json_int_pair(j, "strides", 1, 64));
  SLING_ASSIGN_OR_RETURN(c.padding, json_padding(j, "padding"));
  SLING_ASSIGN_OR_RETURN(c.use_bias, json_bool(j, "use_bias"));
  c.kernel_h = k[0], c.kernel_w = k[1], c.stride_h = s[0], c.stride_w = s[1];
  return std::unique_ptr<Layer>(new Conv2D(c));
}

void Conv2D::to_json(nlohmann::json& j) const {
  j["in_channels"] = config_.in_channels;
  j["filters"] = config_.filters;
  j["kernel"] = {config_.kernel_h, config_.kernel_w};
  j["strides"] = {config_.stride_h, config_.stride_w};
  j["padding"] = padding_name(config_.padding);
  j["use_bias"] = config_.use_bias;
}

WindowShape Conv2D::window(const Shape& in) const {
  const Dims4 d = to_dims4(in);
  return make_window_shape(d, config_.kernel_h, config_.kernel_w, config_.stride_h, config_.stride_w,
                           config_.padding, config_.filters);
}

Result<Shape> Conv2D::output_shape(std::span<const Shape> inputs) const {
  SLING_RETURN_IF_ERROR(require_rank(inputs[0], 4, "conv2d"));
  if (inputs[0][3] != config_.in_channels)
    return invalid_argument("conv2d expects " + std::to_string(config_.in_channels) + " input channels, got " +
                            shape_to_string(inputs[0]));
  const WindowShape s = window(inputs[0]);
  if (s.output.h <= 0 || s.output.w <= 0)
    return invalid_argument("conv2d window does not fit the input " + shape_to_string(inputs[0]));
  return Shape{s.output.n, s.output.h, s.output.w, s.output.c};
}

int64_t Conv2D::macs(std::span<const Shape>, const Shape& out) const {
  return shape_numel(out) / out[0] * config_.kernel_h * config_.kernel_w * config_.in_channels;
}

namespace {

// Winograd's transformed filters live in the node's workspace cache between passes:
// [0] a copy of the filter they came from, [1] forward, [2] backward-input. Transforming
// costs as much as convolving a small chunk of samples, and attack gradients run one
// filter over many chunks and iterations.
enum WinogradCache { kFilterCopy, kForwardFilter, kBackwardFilter, kWinogradCacheSize };

// Floats of a 3x3 filter.
size_t filter_count(const WindowShape& s) { return static_cast<size_t>(9) * s.input.c * s.output.c; }

// Bitwise, which libc compares a cache line at a time (a float == loop ran a value per
// cycle and cost 2-3% of an attack gradient); the same bits give the same transform.
bool winograd_cache_matches(const std::vector<Tensor>& cache, const float* weight, size_t count) {
  return cache.size() == kWinogradCacheSize && cache[kFilterCopy].numel() == static_cast<int64_t>(count) &&
         std::memcmp(weight, cache[kFilterCopy].data(), count * sizeof(float)) == 0;
}

// Refreshes the cache unless it was made from exactly these weights (compared in full, so
// an edited filter is never served a stale transform).
void refresh_winograd_cache(const WindowShape& s, const float* weight, std::vector<Tensor>& cache) {
  const size_t count = filter_count(s);
  if (winograd_cache_matches(cache, weight, count)) return;
  const int64_t size = static_cast<int64_t>(conv2d_winograd_f32_filter_size(s));
  cache.assign(kWinogradCacheSize, Tensor());
  cache[kFilterCopy] = Tensor({static_cast<int64_t>(count)}, std::vector<float>(weight, weight + count));
  cache[kForwardFilter].resize({size});
  cache[kBackwardFilter].resize({size});
  conv2d_winograd_transform_filter_f32(s, weight, WinogradPass::kForward, cache[kForwardFilter].data());
  conv2d_winograd_transform_filter_f32(s, weight, WinogradPass::kBackwardInput, cache[kBackwardFilter].data());
}

}  // namespace

template <class T>
Status Conv2D::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  SLING_ASSIGN_OR_RETURN(Shape out_shape, output_shape(std::span<const Shape>(&x.shape(), 1)));
  a.output->resize(out_shape);
  const WindowShape s = window(x.shape());
  std::vector<T> w, b;
  const T* weight = param_as<T>(params_[0].value, w);
  const T* bias = config_.use_bias ? param_as<T>(params_[1].value, b) : nullptr;
  if (a.residual && a.residual->shape() != out_shape)
    return invalid_argument("folded residual " + shape_to_string(a.residual->shape()) + " does not match the output " +
                            shape_to_string(out_shape));
  if constexpr (std::is_same_v<T, float>) {
    const float* residual = a.residual ? a.residual->data() : nullptr;
    if (a.kernels == KernelPath::kSimdWinograd && conv2d_winograd_f32_supports(s)) {
      scratch_at_least(a.scratch, conv2d_winograd_f32__simd_scratch_size(s));
      refresh_winograd_cache(s, weight, *a.cache);
      conv2d_winograd_forward_transformed_f32__simd(s, x.data(), (*a.cache)[kForwardFilter].data(), bias,
                                                    a.output->data(), a.scratch->data(), a.relu, residual);
      return Status::Ok();
    }
    if (uses_simd(a.kernels)) {
      scratch_at_least(a.scratch, conv2d_f32__simd_scratch_size(s));
      conv2d_forward_f32__simd(s, x.data(), weight, bias, a.output->data(), a.scratch->data(), a.relu, residual);
      return Status::Ok();
    }
  }
  conv2d_forward__ref<T>(s, x.data(), weight, bias, a.output->data());
  if (a.residual) add__ref<T>(a.output->numel(), a.output->data(), a.residual->data(), a.output->data());
  if (a.relu.enabled) relu_forward__ref<T>(a.output->numel(), a.output->data(), T(a.relu.upper), a.output->data());
  return Status::Ok();
}

template <class T>
Status Conv2D::backward_t(const BackwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  const WindowShape s = window(x.shape());
  std::vector<T> w;
  const T* weight = param_as<T>(params_[0].value, w);
  T* grad_bias = config_.use_bias && !a.grad_params.empty() ? a.grad_params[1].data() : nullptr;
  if (a.grad_inputs[0] && !a.accumulate) a.grad_inputs[0]->resize(x.shape());
  if constexpr (std::is_same_v<T, float>) {
    if (uses_simd(a.kernels)) {
      const bool winograd = a.kernels == KernelPath::kSimdWinograd && conv2d_winograd_f32_supports(s);
      const size_t need = winograd ? std::max(conv2d_winograd_f32__simd_scratch_size(s), conv2d_f32__simd_scratch_size(s))
                                   : conv2d_f32__simd_scratch_size(s);
      scratch_at_least(a.scratch, need);
      if (a.grad_inputs[0] && winograd && winograd_cache_matches(*a.cache, weight, filter_count(s)))
        conv2d_winograd_backward_input_transformed_f32__simd(s, a.grad_output->data(),
                                                             (*a.cache)[kBackwardFilter].data(),
                                                             a.grad_inputs[0]->data(), a.scratch->data(), a.accumulate);
      else if (a.grad_inputs[0] && winograd)
        conv2d_winograd_backward_input_f32__simd(s, a.grad_output->data(), weight, a.grad_inputs[0]->data(),
                                                 a.scratch->data(), a.accumulate);
      else if (a.grad_inputs[0])
        conv2d_backward_input_f32__simd(s, a.grad_output->data(), weight, a.grad_inputs[0]->data(),
                                        a.scratch->data(), a.accumulate);
      if (!a.grad_params.empty())
        conv2d_backward_filter_f32__simd(s, x.data(), a.grad_output->data(), a.grad_params[0].data(), grad_bias,
                                         a.scratch->data());
      return Status::Ok();
    }
  }
  if (a.accumulate) return invalid_argument("conv2d accumulates input gradients only on the SIMD kernels");
  if (a.grad_inputs[0]) conv2d_backward_input__ref<T>(s, a.grad_output->data(), weight, a.grad_inputs[0]->data());
  if (!a.grad_params.empty())
    conv2d_backward_filter__ref<T>(s, x.data(), a.grad_output->data(), a.grad_params[0].data(), grad_bias);
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(Conv2D);

}  // namespace slingshot
