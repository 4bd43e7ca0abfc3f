// Image files in and out: PNG/JPEG/BMP decoding with stb_image (dimensions are checked
// before any pixel is decoded), PNG and JPEG encoding with stb_image_write.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// Largest accepted width or height; bigger files are rejected before decoding.
constexpr int kMaxImageSide = 8192;

// Decodes an image held in memory to [1, H, W, channels] floats in [0, 1] (k / 255).
// `channels` 0 keeps the file's channel count; 1 or 3 converts.
Result<Tensor> decode_image(std::string_view bytes, int channels = 0);
// Fits [1, H, W, C] to [1, height, width, C]: scales it to cover the target size keeping
// its aspect ratio, then crops the center. Each output pixel is the area-weighted mean of
// the source pixels under it (a box filter with fractional coverage; for upscaling that is
// nearest-neighbour), snapped to the k / 255 grid. At the same size it is the identity.
Result<Tensor> fit_image(const Tensor& image, int height, int width);
// Reads and decodes an image file.
Result<Tensor> load_image(const std::string& path, int channels = 0);
// PNG file bytes of 8-bit pixels, row-major, `channels` (1 to 4) interleaved per pixel.
Result<std::string> encode_png(const uint8_t* pixels, int width, int height, int channels);
// Writes [1, H, W, C] or [H, W, C] in [0, 1] as an 8-bit PNG (atomically: temp file + rename).
Status save_png(const Tensor& image, const std::string& path);
// Encodes [1, H, W, C] or [H, W, C] in [0, 1], C 1 or 3, as a baseline JPEG in memory at
// `quality` 1..100 (stb_image_write: chroma subsampled 4:2:0 up to 90, 4:4:4 above).
// Values are rounded to k / 255 first; decode_image reads the result back.
Result<std::string> encode_jpeg(const Tensor& image, int quality);

}  // namespace slingshot
