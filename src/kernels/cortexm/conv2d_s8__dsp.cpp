// Cortex-M DSP int8 convolution: im2col of two output pixels into int16, then the 2x2
// SMLAD block of int8_dsp-inl.h over output-channel pairs.
#include "kernels/cortexm/conv2d_s8__dsp.h"

#include <cstring>

#include "kernels/cortexm/dsp_scratch.h"
#include "kernels/cortexm/int8_dsp-inl.h"
#include "kernels/ref/conv2d_s8__ref.h"

namespace slingshot {
namespace {

// How a window reaches the widened block.
enum class Im2col {
  kWords,      // Cin % 4 == 0: every tap starts a group; rows of taps widen word by word
  kStaged,     // other Cin: window bytes gathered (padding = the zero point), then widened
  kScattered,  // other Cin with a zero point outside int8 (off-contract offsets): per element
};

// Unrolls the window of output pixel (n, oy, ox) into column j of a block of `cols`
// columns (int8_dsp-inl.h's layout): element (ky * kernel_w + kx) * Cin + ic is
// input + input_offset, or 0 for a padded tap. A row of taps is contiguous in NHWC.
// `staging` (kStaged only) holds K bytes.
template <Im2col kPath>
void im2col_pixel(const WindowShape& s, const int8_t* input, int32_t n, int32_t oy, int32_t ox, int32_t input_offset,
                  int32_t j, int32_t cols, int16_t* block, int8_t* staging) {
  const int32_t cin = s.input.c, kw = s.kernel_w, row_len = kw * cin, k = s.kernel_h * row_len;
  const int32_t y0 = oy * s.stride_h - s.pad_top, x0 = ox * s.stride_w - s.pad_left;
  const int32_t kx_begin = x0 < 0 ? -x0 : 0;
  const int32_t kx_end = x0 + kw > s.input.w ? s.input.w - x0 : kw;
  const int32_t offset2 = dsp_s8::pair_of(input_offset);
  for (int32_t ky = 0; ky < s.kernel_h; ++ky) {
    const int32_t iy = y0 + ky, k_row = ky * row_len;
    const bool row_inside = iy >= 0 && iy < s.input.h && kx_begin < kx_end;
    const int32_t left = row_inside ? kx_begin * cin : row_len;
    const int32_t inside = row_inside ? (kx_end - kx_begin) * cin : 0;
    const int32_t right = row_len - left - inside;
    const int8_t* src =
        row_inside ? input + ((static_cast<int32_t>(n) * s.input.h + iy) * s.input.w + x0 + kx_begin) * cin : nullptr;
    if constexpr (kPath == Im2col::kWords) {
      // Group g of column j starts at int16 8g + 4j (4g for one column).
      int16_t* dst = block + k_row * cols + j * 4;
      dsp_s8::zero_groups_strided(left, cols, dst);
      dst += left * cols;
      dsp_s8::widen_groups_strided(src, inside, offset2, cols, dst);
      dsp_s8::zero_groups_strided(right, cols, dst + inside * cols);
    } else if constexpr (kPath == Im2col::kStaged) {
      // The zero point widens to exactly 0, as a padded tap must.
      const auto zero_point = static_cast<int8_t>(-input_offset);
      int8_t* dst = staging + k_row;
      if (left) std::memset(dst, zero_point, static_cast<size_t>(left));
      if (inside) std::memcpy(dst + left, src, static_cast<size_t>(inside));
      if (right) std::memset(dst + left + inside, zero_point, static_cast<size_t>(right));
    } else {
      dsp_s8::widen_scattered(nullptr, left, k_row, j, cols, k, input_offset, block);
      dsp_s8::widen_scattered(src, inside, k_row + left, j, cols, k, input_offset, block);
      dsp_s8::widen_scattered(nullptr, right, k_row + left + inside, j, cols, k, input_offset, block);
    }
  }
  if constexpr (kPath == Im2col::kStaged) {
    const int32_t groups_end = k & ~3;
    dsp_s8::widen_groups_strided(staging, groups_end, offset2, cols, block + j * 4);
    dsp_s8::widen_scattered(staging + groups_end, k - groups_end, groups_end, j, cols, k, input_offset, block);
  }
}

template <RoundingMode kMode, Im2col kPath>
void conv_pixels(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                 const int32_t* bias, int8_t* output, int32_t* scratch) {
  const int32_t k = s.kernel_h * s.kernel_w * s.input.c, cout = s.output.c;
  // Scratch: 2 * cout accumulators, the widened two-column block (2 * k int16), staging.
  int32_t* const acc = scratch;
  int16_t* const block = reinterpret_cast<int16_t*>(scratch + 2 * cout);
  int8_t* const staging = reinterpret_cast<int8_t*>(block + 2 * k);
  const int32_t pixels = s.output.n * s.output.h * s.output.w;
  // Output pixel cursor in NHW order.
  int32_t n = 0, oy = 0, ox = 0;
  const dsp_s8::Requantizer<kMode> rq(q);
  const int32_t input_offset = q.input_offset;
  auto advance = [&] {
    if (++ox == s.output.w) {
      ox = 0;
      if (++oy == s.output.h) {
        oy = 0;
        ++n;
      }
    }
  };
  for (int32_t p = 0; p < pixels; p += 2) {
    const int32_t cols = pixels - p >= 2 ? 2 : 1;
    for (int32_t j = 0; j < cols; ++j) {
      im2col_pixel<kPath>(s, input, n, oy, ox, input_offset, j, cols, block, staging);
      advance();
    }
    dsp_s8::gemm_columns<kMode>(rq, filter, k, cout, bias, block, cols, output + p * cout, output + (p + 1) * cout,
                                acc);
  }
}

}  // namespace

int32_t conv2d_s8__dsp_scratch_bytes(const WindowShape& s) {
  return static_cast<int32_t>(conv2d_s8__dsp_scratch_size(s.kernel_h, s.kernel_w, s.input.c, s.output.c));
}

void conv2d_s8__dsp(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                    const int32_t* bias, int8_t* output, int32_t* scratch) {
  if (!dsp_s8::offset_fits_int16(q.input_offset)) {
    conv2d_s8__ref(s, q, input, filter, bias, output);
    return;
  }
  const bool zero_point_fits_int8 = q.input_offset >= -127 && q.input_offset <= 128;
  const Im2col path = s.input.c % 4 == 0 ? Im2col::kWords : zero_point_fits_int8 ? Im2col::kStaged : Im2col::kScattered;
  dsp_s8::with_rounding(q.rounding, [&]<RoundingMode kMode>() {
    if (path == Im2col::kWords)
      conv_pixels<kMode, Im2col::kWords>(s, q, input, filter, bias, output, scratch);
    else if (path == Im2col::kStaged)
      conv_pixels<kMode, Im2col::kStaged>(s, q, input, filter, bias, output, scratch);
    else
      conv_pixels<kMode, Im2col::kScattered>(s, q, input, filter, bias, output, scratch);
  });
}

}  // namespace slingshot
