// The per-tensor affine grid of an integer activation, and how a real range maps onto
// it. Post-training calibration and quantization-aware training both derive grids here,
// so a range learned in training gives exactly the grid the integer engines run.
#pragma once

#include <cstdint>

namespace slingshot {

// Per-tensor affine grid: real = scale * (q - zero_point), q in [qmin, qmax].
struct ActivationGrid {
  float scale = 1.0f;      // > 0
  int32_t zero_point = 0;  // in [qmin, qmax]
  int32_t qmin = -128;     // lowest code: -2^(bits-1)
  int32_t qmax = 127;      // highest code: 2^(bits-1) - 1

  bool operator==(const ActivationGrid&) const = default;
  // Rounds half away from zero (TFLite's quantize) and clamps to [qmin, qmax].
  int32_t quantize(float x) const;
  float dequantize(int32_t q) const { return scale * static_cast<float>(q - zero_point); }
};

// Sets the code range of a signed `bits`-bit grid: [-2^(bits-1), 2^(bits-1) - 1].
void set_grid_bits(ActivationGrid& g, int bits);
// The grid of an activation of `bits` bits covering [lo, hi] (widened to include 0, so
// zero is exact, as the TFLite spec requires).
ActivationGrid grid_for_range(float lo, float hi, int bits);
// The 8-bit input grid of images in [0, 1]: scale 1/255, zero point -128, so every
// 8-bit pixel value k/255 is exactly code k - 128.
ActivationGrid image_input_grid();
// The grid of a thermometer encoding's bits at `bits` bits: scale 1, zero point at the
// lowest code, so 0 and 1 are the codes qmin and qmin + 1 exactly.
ActivationGrid thermometer_output_grid(int bits);

}  // namespace slingshot
