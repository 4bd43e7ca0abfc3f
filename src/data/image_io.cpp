// stb_image / stb_image_write glue. This file is the one place that defines their
// implementations.
#include "data/image_io.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/file_io.h"

#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

namespace slingshot {

Result<Tensor> decode_image(std::string_view bytes, int channels) {
  if (channels != 0 && channels != 1 && channels != 3)
    return invalid_argument("image channels must be 0 (as stored), 1 or 3, got " + std::to_string(channels));
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return invalid_argument("image file is larger than 2 GB");
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &c))
    return invalid_argument(std::string("not a readable image (") + stbi_failure_reason() +
                            "); PNG, JPEG and BMP are supported");
  if (w <= 0 || h <= 0 || w > kMaxImageSide || h > kMaxImageSide)
    return invalid_argument("image is " + std::to_string(w) + "x" + std::to_string(h) + "; the limit is " +
                            std::to_string(kMaxImageSide) + " per side");
  const int want = channels == 0 ? (c == 1 || c == 2 ? 1 : 3) : channels;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(data, len, &w, &h, &c, want),
                                                   stbi_image_free);
  if (!pixels) return invalid_argument(std::string("image decoding failed: ") + stbi_failure_reason());
  Tensor out({1, h, w, want});
  for (int64_t i = 0; i < out.numel(); ++i) out[i] = static_cast<float>(pixels.get()[i]) / 255.0f;
  return out;
}

Result<Tensor> load_image(const std::string& path, int channels) {
  SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, int64_t{256} << 20));
  auto img = decode_image(bytes, channels);
  if (!img.ok()) return img.status().with_context(path);
  return img;
}

namespace {

// An image as stb_image_write reads it: 8-bit values, rows of width x channels.
struct EightBitImage {
  int height = 0, width = 0, channels = 0;
  std::vector<unsigned char> pixels;
};

// [1, H, W, C] or [H, W, C] in [0, 1] rounded to k / 255 (out-of-range values clamped,
// NaN as 0), for `format` ("PNG", "JPEG") with `max_channels`.
Result<EightBitImage> to_eight_bit(const Tensor& image, const char* format, int max_channels) {
  const Shape& s = image.shape();
  const bool rank4 = s.size() == 4 && s[0] == 1;
  if (!(rank4 || s.size() == 3))
    return invalid_argument(std::string(format) + " output needs [1, H, W, C] or [H, W, C], got " + shape_to_string(s));
  EightBitImage out;
  out.height = static_cast<int>(s[rank4 ? 1 : 0]);
  out.width = static_cast<int>(s[rank4 ? 2 : 1]);
  out.channels = static_cast<int>(s[rank4 ? 3 : 2]);
  if (out.channels < 1 || out.channels > max_channels)
    return invalid_argument(std::string(format) + " output needs 1 to " + std::to_string(max_channels) + " channels");
  out.pixels.resize(image.numel());
  for (int64_t i = 0; i < image.numel(); ++i) {
    const float v = std::isfinite(image[i]) ? std::min(1.0f, std::max(0.0f, image[i])) : 0.0f;
    out.pixels[i] = static_cast<unsigned char>(std::lround(v * 255.0f));
  }
  return out;
}

// stb_image_write's output callback: appends to the std::string behind `ctx`.
void append_to_string(void* ctx, void* bytes, int size) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(bytes), size);
}

}  // namespace

Status save_png(const Tensor& image, const std::string& path) {
  SLING_ASSIGN_OR_RETURN(const EightBitImage img, to_eight_bit(image, "PNG", 4));
  SLING_ASSIGN_OR_RETURN(const std::string encoded, encode_png(img.pixels.data(), img.width, img.height, img.channels));
  return write_file_atomic(path, encoded);
}

Result<std::string> encode_png(const uint8_t* pixels, int width, int height, int channels) {
  if (width < 1 || height < 1 || channels < 1 || channels > 4)
    return invalid_argument("PNG output needs a positive size and 1 to 4 channels");
  std::string encoded;
  if (!stbi_write_png_to_func(append_to_string, &encoded, width, height, channels, pixels, width * channels))
    return internal_error("PNG encoding failed");
  return encoded;
}

Result<std::string> encode_jpeg(const Tensor& image, int quality) {
  if (quality < 1 || quality > 100) return invalid_argument("JPEG quality must be in 1..100, got " + std::to_string(quality));
  SLING_ASSIGN_OR_RETURN(const EightBitImage img, to_eight_bit(image, "JPEG", 3));
  if (img.channels == 2) return invalid_argument("JPEG output needs 1 or 3 channels, got 2");
  if (img.width > kMaxImageSide || img.height > kMaxImageSide)  // what decode_image reads back
    return invalid_argument("JPEG output is limited to " + std::to_string(kMaxImageSide) + " pixels per side");
  std::string encoded;
  if (!stbi_write_jpg_to_func(append_to_string, &encoded, img.width, img.height, img.channels, img.pixels.data(),
                              quality))
    return internal_error("JPEG encoding failed");
  return encoded;
}

Result<Tensor> fit_image(const Tensor& image, int height, int width) {
  if (image.rank() != 4 || image.dim(0) != 1)
    return invalid_argument("fit_image expects one image [1, H, W, C], got " + shape_to_string(image.shape()));
  if (height < 1 || width < 1 || height > kMaxImageSide || width > kMaxImageSide)
    return invalid_argument("target image size " + std::to_string(height) + "x" + std::to_string(width) +
                            " is outside 1.." + std::to_string(kMaxImageSide));
  const int64_t H = image.dim(1), W = image.dim(2), C = image.dim(3);
  if (H < 1 || W < 1) return invalid_argument("the image is empty");
  // Source pixels per output pixel, the same along both axes (cover, then crop).
  const double step = std::min(static_cast<double>(H) / height, static_cast<double>(W) / width);
  const double y0 = (H - step * height) / 2, x0 = (W - step * width) / 2;
  Tensor out({1, height, width, C});
  std::vector<double> acc(static_cast<size_t>(C));
  for (int i = 0; i < height; ++i) {
    const double top = y0 + i * step, bottom = top + step;
    for (int j = 0; j < width; ++j) {
      const double left = x0 + j * step, right = left + step;
      std::fill(acc.begin(), acc.end(), 0.0);
      double total = 0;
      for (int64_t y = static_cast<int64_t>(std::floor(top)); y < std::min<double>(H, std::ceil(bottom)); ++y) {
        const double wy = std::min<double>(y + 1, bottom) - std::max<double>(y, top);
        if (wy <= 0) continue;
        for (int64_t x = static_cast<int64_t>(std::floor(left)); x < std::min<double>(W, std::ceil(right)); ++x) {
          const double w = wy * (std::min<double>(x + 1, right) - std::max<double>(x, left));
          if (w <= 0) continue;
          const float* px = image.data() + (y * W + x) * C;
          for (int64_t c = 0; c < C; ++c) acc[c] += w * px[c];
          total += w;
        }
      }
      float* o = out.data() + (static_cast<int64_t>(i) * width + j) * C;
      for (int64_t c = 0; c < C; ++c)
        o[c] = static_cast<float>(std::lround(std::clamp(acc[c] / total, 0.0, 1.0) * 255.0)) / 255.0f;
    }
  }
  return out;
}

}  // namespace slingshot
