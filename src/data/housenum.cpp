// The housenum generator. Fonts are parsed once and each digit is turned once into a
// signed distance field at a high resolution (kGlyphRasterHeight); every image then maps
// those fields through its own affine pose with supersampled bilinear lookups, turns
// distance into anti-aliased coverage (at any stroke weight) and composites with coverage
// as alpha. The JPEG round trip uses stb_image / stb_image_write, whose
// implementations live in image_io.cpp; stb_truetype's lives here, file-local.
#include "data/housenum.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

#include "core/file_io.h"
#include "core/rng.h"

#define STBTT_STATIC
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb_truetype.h>
#define STBI_NO_STDIO
#include <stb_image.h>
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>

namespace slingshot {
namespace {

// Every random draw is its own statement (or a sequenced initializer): the order of
// function arguments is unspecified, and GCC and clang differ, which would give native
// and wasm builds different images.

// ---------------------------------------------------------------------------------------
// Difficulty knobs. Lengths are in pixels of a 32-pixel image and scale with image_size.
constexpr float kDigitHeightMin = 0.35f, kDigitHeightMax = 0.90f;  // digit height / image side
constexpr float kRotationMaxDeg = 15.0f;                           // |rotation|
constexpr float kShearMax = 0.25f;                                 // |italic shear| (x per y)
constexpr float kAspectMin = 0.75f, kAspectMax = 1.30f;            // horizontal stretch
constexpr float kWeightMin = -0.015f, kWeightMax = 0.05f;          // stroke growth per side / height
constexpr float kMinStrokePx = 1.3f;                               // thinnest stroke on the canvas
constexpr float kCentreOffsetPx = 4.5f;                            // |centre jitter| per axis
constexpr float kLowContrastProb = 0.35f;                          // P(luminance contrast is low)
constexpr float kLowContrastMin = 0.14f, kLowContrastMax = 0.22f;  // low contrast range
constexpr float kContrastMin = 0.22f, kContrastMax = 0.75f;        // usual contrast range
constexpr float kLightOnDarkProb = 0.40f;                          // P(digit lighter than background)
constexpr float kGreyProb = 0.45f, kSaturationMax = 0.75f;         // colour saturation
constexpr float kOutlineProb = 0.10f, kShadowProb = 0.12f;         // glyph decorations
constexpr float kNeighbourProb = 0.85f;                            // P(a neighbour on a given side)
constexpr float kNeighbourSameStyleProb = 0.85f;                   // P(neighbour shares the style)
constexpr float kNeighbourGapMin = 0.00f, kNeighbourGapMax = 0.25f;  // gap / digit height
constexpr float kTextureAmpMax = 0.22f;                            // background texture amplitude
constexpr float kGradientJitter = 0.18f;                           // gradient end colour jitter
constexpr float kPlateEdgeProb = 0.15f;                            // P(edge of the sign in view)
constexpr float kClutterProb = 0.30f;                              // P(lines behind the digits: frames, cables)
constexpr float kOccluderProb = 0.15f;                             // P(a thin line in front of the digits)
constexpr float kBlurProb = 0.85f, kBlurSigmaMin = 0.3f, kBlurSigmaMax = 1.4f;
constexpr float kNoiseSigmaMax = 0.07f;                            // additive noise std dev
constexpr float kJpegProb = 0.50f;
constexpr int kJpegQualityMin = 20, kJpegQualityMax = 90;
constexpr float kLowResProb = 0.45f, kLowResMax = 2.5f;            // P(upscaled from a smaller crop), factor
constexpr float kLightingMax = 0.20f;                              // multiplicative shading slope
constexpr float kShadowBandProb = 0.20f;                           // P(shadow or glare band)
constexpr float kBrightnessMax = 0.06f, kContrastJitter = 0.12f;   // final global jitter

// Height in pixels of the cached digit fields; images sample them down (or up).
constexpr float kGlyphRasterHeight = 48.0f;
// Distance-field margin around the ink and its encoding (byte = 128 + 10 * distance).
constexpr int kSdfPad = 10;
constexpr float kSdfScale = 10.0f;
// Largest outline growth: the grown glyph must stay inside the field, with a margin.
constexpr float kMaxGrow = kSdfPad - 3.0f;
// Fonts larger than this are not fonts.
constexpr int64_t kMaxFontBytes = int64_t{32} << 20;
constexpr float kPi = 3.14159265358979f;

// The fonts, in a fixed order: the files the Debian packages named here install. A
// fixed list (no directory scan) keeps the dataset identical on machines with extra fonts.
struct FontFile {
  const char* path;     // relative to HousenumOptions::font_dir
  const char* package;  // Debian package that installs it
};
constexpr const char* kDejavu = "fonts-dejavu-core";
constexpr const char* kLiberation = "fonts-liberation2";
constexpr const char* kFreefont = "fonts-freefont-ttf";
constexpr std::array<FontFile, 30> kFontFiles = {{
    {"dejavu/DejaVuSans-Bold.ttf", kDejavu},
    {"dejavu/DejaVuSans.ttf", kDejavu},
    {"dejavu/DejaVuSansMono-Bold.ttf", kDejavu},
    {"dejavu/DejaVuSansMono.ttf", kDejavu},
    {"dejavu/DejaVuSerif-Bold.ttf", kDejavu},
    {"dejavu/DejaVuSerif.ttf", kDejavu},
    {"freefont/FreeMono.ttf", kFreefont},
    {"freefont/FreeMonoBold.ttf", kFreefont},
    {"freefont/FreeMonoBoldOblique.ttf", kFreefont},
    {"freefont/FreeMonoOblique.ttf", kFreefont},
    {"freefont/FreeSans.ttf", kFreefont},
    {"freefont/FreeSansBold.ttf", kFreefont},
    {"freefont/FreeSansBoldOblique.ttf", kFreefont},
    {"freefont/FreeSansOblique.ttf", kFreefont},
    {"freefont/FreeSerif.ttf", kFreefont},
    {"freefont/FreeSerifBold.ttf", kFreefont},
    {"freefont/FreeSerifBoldItalic.ttf", kFreefont},
    {"freefont/FreeSerifItalic.ttf", kFreefont},
    {"liberation2/LiberationMono-Bold.ttf", kLiberation},
    {"liberation2/LiberationMono-BoldItalic.ttf", kLiberation},
    {"liberation2/LiberationMono-Italic.ttf", kLiberation},
    {"liberation2/LiberationMono-Regular.ttf", kLiberation},
    {"liberation2/LiberationSans-Bold.ttf", kLiberation},
    {"liberation2/LiberationSans-BoldItalic.ttf", kLiberation},
    {"liberation2/LiberationSans-Italic.ttf", kLiberation},
    {"liberation2/LiberationSans-Regular.ttf", kLiberation},
    {"liberation2/LiberationSerif-Bold.ttf", kLiberation},
    {"liberation2/LiberationSerif-BoldItalic.ttf", kLiberation},
    {"liberation2/LiberationSerif-Italic.ttf", kLiberation},
    {"liberation2/LiberationSerif-Regular.ttf", kLiberation},
}};

std::string font_path(const std::string& dir, const FontFile& f) {
  return dir.empty() || dir.back() == '/' ? dir + f.path : dir + "/" + f.path;
}

// ---------------------------------------------------------------------------------------
// Fonts and cached digit rasters.

struct GlyphRaster {
  int w = 0, h = 0;           // field size
  float cx = 0, cy = 0;       // centre of the ink box, in field pixels
  float ink_w = 0;            // width of the ink box, in field pixels
  std::vector<float> dist;    // w * h signed distance to the outline (> 0 inside), row-major
};

struct FontSet {
  std::vector<std::array<GlyphRaster, 10>> digits;  // per font, per digit
  std::vector<float> half_stem;  // per font: smallest over digits of the deepest inside distance
};

uint32_t read_u32be(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// stb_truetype trusts its input, so the table directory is checked first: every table
// must lie inside the file. Returns an empty string when the layout is sound.
std::string check_sfnt_layout(const std::string& bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 12) return "too short for a font";
  const uint32_t tag = read_u32be(p);
  if (tag != 0x00010000u && tag != 0x74727565u /*true*/ && tag != 0x4F54544Fu /*OTTO*/)
    return "not a TrueType/OpenType font";
  const size_t tables = (size_t{p[4]} << 8) | p[5];
  if (tables == 0 || 12 + 16 * tables > bytes.size()) return "truncated table directory";
  for (size_t t = 0; t < tables; ++t) {
    const unsigned char* e = p + 12 + 16 * t;
    const uint64_t off = read_u32be(e + 8), len = read_u32be(e + 12);
    if (off + len > bytes.size()) return "a table runs past the end of the file";
  }
  return {};
}

// Distance fields of the ten digits of one font, scaled so that '0' is kGlyphRasterHeight
// pixels tall.
Result<std::array<GlyphRaster, 10>> rasterize_digits(const std::string& bytes, const std::string& path) {
  const std::string layout = check_sfnt_layout(bytes);
  if (!layout.empty()) return data_loss(path + ": corrupt font (" + layout + ")");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  stbtt_fontinfo info;
  if (!stbtt_InitFont(&info, data, 0)) return data_loss(path + ": corrupt font (stb_truetype rejected it)");
  std::array<GlyphRaster, 10> out;
  float scale = 0.0f;
  for (int d = 0; d < 10; ++d) {
    const int glyph = stbtt_FindGlyphIndex(&info, '0' + d);
    if (glyph == 0) return data_loss(path + ": font has no glyph for digit " + std::to_string(d));
    if (info.glyf) {
      // TrueType outlines: the glyph's bytes must lie in the file (loca is not checked by stb).
      const int off = stbtt__GetGlyfOffset(&info, glyph);
      if (off < 0 || static_cast<size_t>(off) + 10 > bytes.size())
        return data_loss(path + ": corrupt font (glyph outside the file)");
    }
    int x0, y0, x1, y1;
    if (!stbtt_GetGlyphBox(&info, glyph, &x0, &y0, &x1, &y1) || x1 <= x0 || y1 <= y0)
      return data_loss(path + ": font has an empty glyph for digit " + std::to_string(d));
    if (d == 0) scale = kGlyphRasterHeight / static_cast<float>(y1 - y0);
    int w = 0, h = 0, xoff = 0, yoff = 0;
    unsigned char* sdf = stbtt_GetGlyphSDF(&info, scale, glyph, kSdfPad, 128, kSdfScale, &w, &h, &xoff, &yoff);
    if (sdf == nullptr || w <= 2 * kSdfPad || h <= 2 * kSdfPad || w > 4 * kGlyphRasterHeight ||
        h > 4 * kGlyphRasterHeight) {
      stbtt_FreeSDF(sdf, nullptr);
      return data_loss(path + ": implausible glyph size for digit " + std::to_string(d));
    }
    GlyphRaster& g = out[d];
    g.w = w;
    g.h = h;
    g.dist.resize(static_cast<size_t>(w) * h);
    for (size_t i = 0; i < g.dist.size(); ++i) g.dist[i] = (static_cast<float>(sdf[i]) - 128.0f) / kSdfScale;
    stbtt_FreeSDF(sdf, nullptr);
    // The ink box in field pixels: the scaled outline box (y up) shifted by the field origin.
    g.cx = 0.5f * static_cast<float>(x0 + x1) * scale - static_cast<float>(xoff);
    g.cy = -0.5f * static_cast<float>(y0 + y1) * scale - static_cast<float>(yoff);
    g.ink_w = static_cast<float>(x1 - x0) * scale;
  }
  return out;
}

Result<std::shared_ptr<const FontSet>> load_fonts(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const FontSet>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(dir);
  if (it != cache.end()) return it->second;
  SLING_ASSIGN_OR_RETURN(std::vector<std::string> paths, housenum_font_files(HousenumOptions{32, dir}));
  auto set = std::make_shared<FontSet>();
  for (const std::string& path : paths) {
    SLING_ASSIGN_OR_RETURN(std::string bytes, read_file(path, kMaxFontBytes));
    SLING_ASSIGN_OR_RETURN(auto digits, rasterize_digits(bytes, path));
    // Half the width of the font's stems, near enough: thin fonts (FreeMono) get bolder.
    float half_stem = 1e9f;
    for (const GlyphRaster& g : digits) half_stem = std::min(half_stem, *std::max_element(g.dist.begin(), g.dist.end()));
    set->digits.push_back(std::move(digits));
    set->half_stem.push_back(half_stem);
  }
  cache.emplace(dir, set);
  return std::shared_ptr<const FontSet>(set);
}

// ---------------------------------------------------------------------------------------
// Colours.

using Rgb = std::array<float, 3>;

float luminance(const Rgb& c) { return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]; }

// A random tint (luminance-free colour direction); saturation skews low, as on real signs.
Rgb random_tint(Rng& rng) {
  // Many signs are near grey (white, black, metal); the rest are moderately coloured.
  const float h = rng.uniform() * 6.0f;
  const float sat = rng.uniform() < kGreyProb ? 0.12f * rng.uniform() : kSaturationMax * std::pow(rng.uniform(), 1.5f);
  const float f = h - std::floor(h);
  Rgb hue;
  switch (static_cast<int>(h) % 6) {
    case 0: hue = {1, f, 0}; break;
    case 1: hue = {1 - f, 1, 0}; break;
    case 2: hue = {0, 1, f}; break;
    case 3: hue = {0, 1 - f, 1}; break;
    case 4: hue = {f, 0, 1}; break;
    default: hue = {1, 0, 1 - f}; break;
  }
  Rgb t;
  for (int c = 0; c < 3; ++c) t[c] = 1.0f - sat + sat * hue[c];
  return t;
}

// The colour of tint `t` whose luminance is exactly `lum` (in [0, 1]); channels that would
// pass 1 are resolved by mixing towards white.
Rgb with_luminance(const Rgb& t, float lum) {
  const float lt = std::max(luminance(t), 1e-3f);
  Rgb c;
  float peak = 0.0f;
  for (int k = 0; k < 3; ++k) peak = std::max(peak, c[k] = t[k] * lum / lt);
  if (peak <= 1.0f) return c;
  for (float& v : c) v /= peak;
  const float l0 = luminance(c), mix = l0 < 1.0f ? std::clamp((lum - l0) / (1.0f - l0), 0.0f, 1.0f) : 0.0f;
  for (float& v : c) v += mix * (1.0f - v);
  return c;
}

struct Palette {
  Rgb fg, bg;      // digit and background colours
  float contrast;  // |luminance(fg) - luminance(bg)|
};

Palette random_palette(Rng& rng) {
  Palette p;
  p.contrast = rng.uniform() < kLowContrastProb ? rng.uniform(kLowContrastMin, kLowContrastMax)
                                                : rng.uniform(kContrastMin, kContrastMax);
  const bool light_on_dark = rng.uniform() < kLightOnDarkProb;
  // Faint pairs sit in the mid-tones, where a small difference is still visible.
  const bool faint = p.contrast < kContrastMin;
  const float lo = faint ? 0.15f : 0.03f, hi = (faint ? 0.85f : 0.97f) - p.contrast;
  const float dark = rng.uniform(lo, std::max(lo, hi));
  const Rgb bg_tint = random_tint(rng), fg_tint = rng.uniform() < 0.3f ? bg_tint : random_tint(rng);
  p.bg = with_luminance(bg_tint, light_on_dark ? dark : dark + p.contrast);
  p.fg = with_luminance(fg_tint, light_on_dark ? dark + p.contrast : dark);
  return p;
}

// ---------------------------------------------------------------------------------------
// Image buffers: S x S x 3 floats, row-major.

struct Canvas {
  int size;
  std::vector<float> px;  // size * size * 3
  float* at(int x, int y) { return px.data() + (static_cast<size_t>(y) * size + x) * 3; }
};

float smoothstep01(float t) { return t * t * (3.0f - 2.0f * t); }

// Value noise in [0, 1]: random values on a grid of `cell`-pixel cells, smoothly interpolated.
void add_value_noise(Canvas& img, Rng& rng, float cell, float amp, const Rgb& tint) {
  const int n = static_cast<int>(img.size / cell) + 2;
  std::vector<float> grid(static_cast<size_t>(n) * n);
  for (float& v : grid) v = rng.uniform();
  for (int y = 0; y < img.size; ++y)
    for (int x = 0; x < img.size; ++x) {
      const float gx = x / cell, gy = y / cell;
      const int ix = std::min(static_cast<int>(gx), n - 2), iy = std::min(static_cast<int>(gy), n - 2);
      const float fx = smoothstep01(gx - ix), fy = smoothstep01(gy - iy);
      const float* r0 = &grid[static_cast<size_t>(iy) * n + ix];
      const float* r1 = r0 + n;
      const float v = (r0[0] + fx * (r0[1] - r0[0])) * (1 - fy) + (r1[0] + fx * (r1[1] - r1[0])) * fy;
      float* p = img.at(x, y);
      for (int c = 0; c < 3; ++c) p[c] += amp * (v - 0.5f) * tint[c];
    }
}

// Stripes (siding, corrugated metal) or bricks, as a signed pattern in [-0.5, 0.5].
void add_pattern(Canvas& img, Rng& rng, bool bricks, float unit, float amp, const Rgb& tint) {
  const float angle = bricks ? rng.uniform(-0.1f, 0.1f) : rng.uniform(0.0f, kPi);
  const float ca = std::cos(angle), sa = std::sin(angle);
  const float phase = rng.uniform(0.0f, unit * 4.0f);
  const float brick_len = unit * rng.uniform(1.8f, 3.0f);
  const bool soft = rng.uniform() < 0.5f;
  for (int y = 0; y < img.size; ++y)
    for (int x = 0; x < img.size; ++x) {
      const float u = x * ca + y * sa + phase, v = -x * sa + y * ca + phase;
      float s;
      if (!bricks) {
        const float t = u / unit;
        s = soft ? 0.5f * std::sin(2.0f * kPi * t) : (t - std::floor(t) < 0.5f ? 0.5f : -0.5f);
      } else {
        // Mortar lines: between rows, and between bricks offset by half a brick every other row.
        const float row = v / unit;
        const float fr = row - std::floor(row);
        const float shift = (static_cast<int64_t>(std::floor(row)) & 1) ? 0.5f * brick_len : 0.0f;
        const float col = (u + shift) / brick_len;
        const float fc = col - std::floor(col);
        const float edge = std::min({fr * unit, (1 - fr) * unit, fc * brick_len, (1 - fc) * brick_len});
        s = std::clamp(edge - 0.5f, 0.0f, 1.0f) - 0.5f;
      }
      float* p = img.at(x, y);
      for (int c = 0; c < 3; ++c) p[c] += amp * s * tint[c];
    }
}

// `count` straight lines at random, up to `max_half` pixels (of a 32-pixel image) half wide.
void draw_lines(Canvas& img, Rng& rng, int count, float max_half, float unit_px) {
  const int S = img.size;
  const float s = static_cast<float>(S);
  for (int l = 0; l < count; ++l) {
    const float angle = rng.uniform(0.0f, kPi), px = rng.uniform(0.0f, s), py = rng.uniform(0.0f, s);
    const float half = rng.uniform(0.35f, max_half) * unit_px, nx = -std::sin(angle), ny = std::cos(angle);
    const Rgb tint = random_tint(rng);
    const Rgb col = with_luminance(tint, rng.uniform(0.0f, 1.0f));
    const float strength = rng.uniform(0.3f, 0.8f);
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        const float dist = std::abs((x + 0.5f - px) * nx + (y + 0.5f - py) * ny);
        const float a = strength * std::clamp(half + 0.5f - dist, 0.0f, 1.0f);
        float* p = img.at(x, y);
        for (int c = 0; c < 3; ++c) p[c] += a * (col[c] - p[c]);
      }
  }
}

void paint_background(Canvas& img, Rng& rng, const Palette& pal, float unit_px) {
  const int S = img.size;
  const float s = static_cast<float>(S);
  // A second colour near the first for gradients and the sign's edge.
  Rgb bg2;
  const float jitter = std::min(kGradientJitter, 0.8f * pal.contrast);
  for (int c = 0; c < 3; ++c) bg2[c] = std::clamp(pal.bg[c] + rng.uniform(-jitter, jitter), 0.0f, 1.0f);
  const float kind = rng.uniform();
  const float gx = rng.uniform(-1.0f, 1.0f), gy = rng.uniform(-1.0f, 1.0f);
  const float rx = rng.uniform(0.0f, s), ry = rng.uniform(0.0f, s), rr = rng.uniform(0.5f, 1.2f) * s;
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      float t = 0.0f;
      if (kind < 0.35f) {
        t = 0.0f;  // flat
      } else if (kind < 0.7f) {
        t = std::clamp(0.5f + ((x - 0.5f * s) * gx + (y - 0.5f * s) * gy) / s, 0.0f, 1.0f);  // linear
      } else {
        t = std::min(1.0f, std::sqrt((x - rx) * (x - rx) + (y - ry) * (y - ry)) / rr);  // radial
      }
      float* p = img.at(x, y);
      for (int c = 0; c < 3; ++c) p[c] = pal.bg[c] + t * (bg2[c] - pal.bg[c]);
    }
  // Texture on top, kept weaker than the digit's contrast so the digit stays readable.
  const float amp = rng.uniform(0.2f, 1.0f) * std::min(kTextureAmpMax, 0.03f + 0.6f * pal.contrast);
  const Rgb tint = random_tint(rng);
  const float texture = rng.uniform();
  if (texture < 0.25f) {
    add_value_noise(img, rng, unit_px * rng.uniform(2.0f, 8.0f), amp, tint);
  } else if (texture < 0.40f) {
    add_pattern(img, rng, false, unit_px * rng.uniform(2.5f, 8.0f), amp, tint);
  } else if (texture < 0.52f) {
    add_pattern(img, rng, true, unit_px * rng.uniform(4.0f, 9.0f), amp, tint);
  }
  // Clutter behind the digits: one or two straight lines (frames, cables, plate borders).
  if (rng.uniform() < kClutterProb) draw_lines(img, rng, 1 + static_cast<int>(rng.below(2)), 1.0f, unit_px);
  // The edge of the sign or wall: a straight border near one side of the crop.
  if (rng.uniform() < kPlateEdgeProb) {
    const int side = static_cast<int>(rng.below(4));
    const float depth = rng.uniform(0.03f, 0.15f) * s, slope = rng.uniform(-0.15f, 0.15f);
    Rgb edge_col;
    for (int c = 0; c < 3; ++c) edge_col[c] = rng.uniform(0.0f, 1.0f);
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        const float along = (side < 2 ? x : y) + 0.5f, across = (side < 2 ? y : x) + 0.5f;
        const float dist = (side % 2 == 0 ? across : s - across) - depth - slope * (along - 0.5f * s);
        const float a = std::clamp(0.5f - dist, 0.0f, 1.0f);
        float* p = img.at(x, y);
        for (int c = 0; c < 3; ++c) p[c] += a * (edge_col[c] - p[c]);
      }
  }
}

// ---------------------------------------------------------------------------------------
// Glyphs.

struct GlyphStyle {
  int font = 0;            // index into kFontFiles
  float height_px = 0;     // height of '0' on the canvas
  float rotation = 0;      // radians
  float shear = 0;         // italic slant, x per y
  float aspect = 1;        // horizontal stretch
  float weight = 0;        // stroke growth per side, in field pixels (< 0 thins)
  Palette pal;             // colours
  int decoration = 0;      // 0 none, 1 outline, 2 drop shadow
  Rgb deco_colour{};       // outline or shadow colour
  int shadow_dx = 1, shadow_dy = 1;  // shadow offset in pixels
  float outline_px = 1;              // outline width in canvas pixels
};

GlyphStyle random_style(Rng& rng, float s, float unit_px, const FontSet& fonts, const Palette& pal) {
  GlyphStyle st;
  st.font = static_cast<int>(rng.below(static_cast<uint32_t>(fonts.digits.size())));
  st.height_px = rng.uniform(kDigitHeightMin, kDigitHeightMax) * s;
  st.rotation = rng.uniform(-kRotationMaxDeg, kRotationMaxDeg) * (kPi / 180.0f);
  st.shear = rng.uniform(-kShearMax, kShearMax);
  st.aspect = rng.uniform(kAspectMin, kAspectMax);
  st.weight = rng.uniform(kWeightMin, kWeightMax) * kGlyphRasterHeight;
  // Strokes at least kMinStrokePx wide (more for faint digits), or they vanish in the noise.
  const float min_stroke = (pal.contrast < kContrastMin ? 1.5f : 1.0f) * kMinStrokePx * unit_px;
  st.weight = std::max(st.weight, 0.5f * min_stroke * kGlyphRasterHeight / st.height_px - fonts.half_stem[st.font]);
  st.pal = pal;
  const float deco = rng.uniform();
  st.decoration = deco < kOutlineProb ? 1 : deco < kOutlineProb + kShadowProb ? 2 : 0;
  // Outlines contrast with the fill; shadows are darker than the background.
  const float fl = luminance(pal.fg);
  st.deco_colour = with_luminance(random_tint(rng), st.decoration == 1 ? (fl > 0.5f ? fl - 0.45f : fl + 0.45f)
                                                                       : 0.35f * luminance(pal.bg));
  const int reach = std::max(1, static_cast<int>(std::lround(unit_px)));
  const int shadow_sign = rng.below(2) ? 1 : -1;
  st.shadow_dx = shadow_sign * static_cast<int>(1 + rng.below(static_cast<uint32_t>(reach)));
  st.shadow_dy = static_cast<int>(1 + rng.below(static_cast<uint32_t>(reach)));
  st.outline_px = rng.uniform(0.7f, 1.4f) * unit_px;
  return st;
}

// Forward 2x2 map from raster pixels to canvas pixels for a style.
std::array<float, 4> glyph_matrix(const GlyphStyle& st) {
  const float k = st.height_px / kGlyphRasterHeight;
  const float c = std::cos(st.rotation), s = std::sin(st.rotation);
  // R * [[1, -shear], [0, 1]] * diag(aspect, 1) * k; y points down, so -shear leans right.
  const float a = st.aspect, sh = -st.shear;
  return {k * c * a, k * (c * sh - s), k * s * a, k * (s * sh + c)};
}

// Distance at field position (x, y); far outside beyond the field.
float sample_bilinear(const GlyphRaster& g, float x, float y) {
  constexpr float kOutside = -static_cast<float>(kSdfPad);
  if (x <= -1.0f || y <= -1.0f || x >= g.w || y >= g.h) return kOutside;
  const float fx0 = std::floor(x), fy0 = std::floor(y);
  const int x0 = static_cast<int>(fx0), y0 = static_cast<int>(fy0);
  const float fx = x - fx0, fy = y - fy0;
  auto at = [&](int xx, int yy) {
    return xx < 0 || yy < 0 || xx >= g.w || yy >= g.h ? kOutside : g.dist[static_cast<size_t>(yy) * g.w + xx];
  };
  const float top = at(x0, y0) + fx * (at(x0 + 1, y0) - at(x0, y0));
  const float bot = at(x0, y0 + 1) + fx * (at(x0 + 1, y0 + 1) - at(x0, y0 + 1));
  return top + fy * (bot - top);
}

// Coverage of glyph `g` posed by `m` with its ink centre at (cx, cy) and its outline moved
// out by `grow` field pixels, written into `mask` (S * S). Each of 2x2 samples per pixel
// turns distance into coverage over half a canvas pixel, so edges are anti-aliased.
void render_glyph(const GlyphRaster& g, const std::array<float, 4>& m, float cx, float cy, float grow, int S,
                  std::vector<float>& mask) {
  const float det = m[0] * m[3] - m[1] * m[2];
  if (std::abs(det) < 1e-6f) return;
  const float i0 = m[3] / det, i1 = -m[1] / det, i2 = -m[2] / det, i3 = m[0] / det;
  // Canvas box of the raster's corners.
  float lo_x = 1e9f, lo_y = 1e9f, hi_x = -1e9f, hi_y = -1e9f;
  for (int corner = 0; corner < 4; ++corner) {
    const float u = (corner & 1 ? g.w : 0) - g.cx, v = (corner & 2 ? g.h : 0) - g.cy;
    const float x = cx + m[0] * u + m[1] * v, y = cy + m[2] * u + m[3] * v;
    lo_x = std::min(lo_x, x), hi_x = std::max(hi_x, x), lo_y = std::min(lo_y, y), hi_y = std::max(hi_y, y);
  }
  const int x0 = std::max(0, static_cast<int>(std::floor(lo_x))), x1 = std::min(S, static_cast<int>(hi_x) + 2);
  const int y0 = std::max(0, static_cast<int>(std::floor(lo_y))), y1 = std::min(S, static_cast<int>(hi_y) + 2);
  const float shrink = std::sqrt(std::abs(det));  // canvas pixels per field pixel
  constexpr int n = 2;
  const float step = 1.0f / n, w = 1.0f / (n * n), sharp = shrink * n;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      float acc = 0.0f;
      for (int sy = 0; sy < n; ++sy)
        for (int sx = 0; sx < n; ++sx) {
          const float dx = x + (sx + 0.5f) * step - cx, dy = y + (sy + 0.5f) * step - cy;
          // Raster pixel centres sit at integer + 0.5.
          const float d = sample_bilinear(g, i0 * dx + i1 * dy + g.cx - 0.5f, i2 * dx + i3 * dy + g.cy - 0.5f);
          acc += std::clamp(0.5f + (d + std::min(grow, kMaxGrow)) * sharp, 0.0f, 1.0f);
        }
      mask[static_cast<size_t>(y) * S + x] = acc * w;
    }
}

void composite(Canvas& img, const std::vector<float>& alpha, const Rgb& colour, float opacity) {
  for (size_t i = 0; i < alpha.size(); ++i) {
    const float a = alpha[i] * opacity;
    if (a <= 0.0f) continue;
    float* p = img.px.data() + i * 3;
    for (int c = 0; c < 3; ++c) p[c] += a * (colour[c] - p[c]);
  }
}

// Draws one glyph with its decoration. `scratch` holds S * S floats.
void draw_glyph(Canvas& img, const GlyphRaster& g, const GlyphStyle& st, float cx, float cy,
                std::vector<float>& mask, std::vector<float>& scratch) {
  const int S = img.size;
  const std::array<float, 4> m = glyph_matrix(st);
  std::fill(mask.begin(), mask.end(), 0.0f);
  render_glyph(g, m, cx, cy, st.weight, S, mask);
  if (st.decoration == 1) {
    // Outline: the same glyph grown by about one canvas pixel, drawn underneath.
    std::fill(scratch.begin(), scratch.end(), 0.0f);
    const float field_per_canvas = kGlyphRasterHeight / st.height_px;
    render_glyph(g, m, cx, cy, st.weight + st.outline_px * field_per_canvas, S, scratch);
    composite(img, scratch, st.deco_colour, 1.0f);
  } else if (st.decoration == 2) {
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        const int xx = x - st.shadow_dx, yy = y - st.shadow_dy;
        scratch[static_cast<size_t>(y) * S + x] =
            xx < 0 || yy < 0 || xx >= S || yy >= S ? 0.0f : mask[static_cast<size_t>(yy) * S + xx];
      }
    composite(img, scratch, st.deco_colour, 0.7f);
  }
  composite(img, mask, st.pal.fg, 1.0f);
}

// Ink width of a digit on the canvas (before rotation), for spacing neighbours.
float glyph_width_px(const GlyphRaster& g, const GlyphStyle& st) {
  return g.ink_w * st.height_px / kGlyphRasterHeight * st.aspect;
}

// ---------------------------------------------------------------------------------------
// Degradations.

void gaussian_blur(Canvas& img, float sigma, std::vector<float>& tmp) {
  const int S = img.size, r = std::max(1, static_cast<int>(std::ceil(2.5f * sigma)));
  std::vector<float> k(2 * r + 1);
  float sum = 0.0f;
  for (int i = -r; i <= r; ++i) sum += k[i + r] = std::exp(-0.5f * i * i / (sigma * sigma));
  for (float& v : k) v /= sum;
  tmp.resize(img.px.size());
  // Two separable passes with clamped edges: rows into tmp, then columns back.
  for (int pass = 0; pass < 2; ++pass) {
    const float* src = pass == 0 ? img.px.data() : tmp.data();
    float* dst = pass == 0 ? tmp.data() : img.px.data();
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        float acc[3] = {0, 0, 0};
        for (int i = -r; i <= r; ++i) {
          const int xx = pass == 0 ? std::clamp(x + i, 0, S - 1) : x, yy = pass == 1 ? std::clamp(y + i, 0, S - 1) : y;
          const float* p = src + (static_cast<size_t>(yy) * S + xx) * 3;
          for (int c = 0; c < 3; ++c) acc[c] += k[i + r] * p[c];
        }
        float* d = dst + (static_cast<size_t>(y) * S + x) * 3;
        for (int c = 0; c < 3; ++c) d[c] = acc[c];
      }
  }
}

// Loss of resolution, as when a small crop is scaled up: box-average down to a `factor`
// times smaller grid, then bilinear back to full size.
void lose_resolution(Canvas& img, float factor, std::vector<float>& tmp) {
  const int S = img.size, m = std::max(4, static_cast<int>(std::lround(S / factor)));
  const float cell = static_cast<float>(S) / m;
  tmp.assign(static_cast<size_t>(m) * m * 3, 0.0f);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const int sx = std::min(m - 1, static_cast<int>((x + 0.5f) / cell));
      const int sy = std::min(m - 1, static_cast<int>((y + 0.5f) / cell));
      float* d = tmp.data() + (static_cast<size_t>(sy) * m + sx) * 3;
      for (int c = 0; c < 3; ++c) d[c] += img.at(x, y)[c];
    }
  std::vector<int> hits(static_cast<size_t>(m) * m, 0);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x)
      ++hits[static_cast<size_t>(std::min(m - 1, static_cast<int>((y + 0.5f) / cell))) * m +
             std::min(m - 1, static_cast<int>((x + 0.5f) / cell))];
  for (size_t i = 0; i < hits.size(); ++i)
    for (int c = 0; c < 3; ++c) tmp[i * 3 + c] /= static_cast<float>(std::max(1, hits[i]));
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const float u = std::clamp((x + 0.5f) / cell - 0.5f, 0.0f, m - 1.0f);
      const float v = std::clamp((y + 0.5f) / cell - 0.5f, 0.0f, m - 1.0f);
      const int u0 = std::min(static_cast<int>(u), m - 2), v0 = std::min(static_cast<int>(v), m - 2);
      const float fu = u - u0, fv = v - v0;
      const float* r0 = tmp.data() + (static_cast<size_t>(v0) * m + u0) * 3;
      const float* r1 = r0 + static_cast<size_t>(m) * 3;
      float* p = img.at(x, y);
      for (int c = 0; c < 3; ++c) {
        const float top = r0[c] + fu * (r0[3 + c] - r0[c]), bot = r1[c] + fu * (r1[3 + c] - r1[c]);
        p[c] = top + fv * (bot - top);
      }
    }
}

// Approximately normal (Irwin-Hall of 4 uniforms): no libm, identical on every platform.
float approx_normal(Rng& rng) {
  float sum = -2.0f;
  for (int k = 0; k < 4; ++k) sum += rng.uniform();  // one draw per statement: a fixed order
  return sum * 1.7320508f;
}

// Encodes the 8-bit image as JPEG at `quality` and decodes it back in place.
void jpeg_round_trip(std::vector<unsigned char>& bytes, int S, int quality) {
  std::string encoded;
  auto sink = [](void* ctx, void* data, int n) { static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), n); };
  if (!stbi_write_jpg_to_func(sink, &encoded, S, S, 3, bytes.data(), quality)) return;
  int w = 0, h = 0, c = 0;
  unsigned char* back = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(encoded.data()),
                                              static_cast<int>(encoded.size()), &w, &h, &c, 3);
  if (back != nullptr && w == S && h == S) std::copy(back, back + bytes.size(), bytes.begin());
  stbi_image_free(back);
}

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The seed of image `index`: a hash of (seed, split, index), so images are independent.
uint64_t image_seed(uint64_t seed, DatasetSplit split, int64_t index) {
  const uint64_t salt = split == DatasetSplit::kTrain ? 0x686e2d747261696eull : 0x686e2d7465737421ull;
  return mix64(mix64(seed ^ salt) + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(index + 1));
}

// Renders image `index` into `out` (S * S * 3 floats) and returns its label.
int render_image(const FontSet& fonts, DatasetSplit split, uint64_t seed, int64_t index, int S, float* out) {
  Rng rng(image_seed(seed, split, index));
  const float s = static_cast<float>(S), unit = s / 32.0f;
  const int label = static_cast<int>(rng.below(10));
  Canvas img{S, std::vector<float>(static_cast<size_t>(S) * S * 3)};
  std::vector<float> mask(static_cast<size_t>(S) * S), scratch(mask.size());

  const Palette pal = random_palette(rng);
  paint_background(img, rng, pal, unit);
  const GlyphStyle centre = random_style(rng, s, unit, fonts, pal);
  const float cx = 0.5f * s + rng.uniform(-kCentreOffsetPx, kCentreOffsetPx) * unit;
  const float cy = 0.5f * s + rng.uniform(-kCentreOffsetPx, kCentreOffsetPx) * unit;
  const GlyphRaster& cg = fonts.digits[centre.font][label];

  // Neighbours first, so the centre digit is drawn over any overlap.
  for (int side = -1; side <= 1; side += 2) {
    if (rng.uniform() >= kNeighbourProb) continue;
    const int digit = static_cast<int>(rng.below(10));
    GlyphStyle st = centre;
    if (rng.uniform() >= kNeighbourSameStyleProb) {
      // Another font, size or pose, but the same sign: the colours stay.
      st = random_style(rng, s, unit, fonts, pal);
    }
    const GlyphRaster& ng = fonts.digits[st.font][digit];
    const float gap = rng.uniform(kNeighbourGapMin, kNeighbourGapMax) * centre.height_px;
    const float dist = 0.5f * glyph_width_px(cg, centre) + gap + 0.5f * glyph_width_px(ng, st);
    // Along the centre digit's baseline, with a little vertical wobble.
    const float nx = cx + side * dist * std::cos(centre.rotation);
    const float ny = cy + side * dist * std::sin(centre.rotation) + rng.uniform(-1.0f, 1.0f) * unit;
    draw_glyph(img, ng, st, nx, ny, mask, scratch);
  }
  draw_glyph(img, cg, centre, cx, cy, mask, scratch);
  // A thin occluder in front (a wire, a twig, a scratch on the plate).
  if (rng.uniform() < kOccluderProb) draw_lines(img, rng, 1, 0.7f, unit);

  // Shading across the crop, blur, sensor noise, exposure, then 8-bit and maybe JPEG.
  // Faint digits get no shadow band and milder blur, noise, resolution loss and JPEG, so a
  // person can still read them.
  const bool faint = pal.contrast < kContrastMin;
  const float mild = faint ? 0.6f : 1.0f;
  const float lx = rng.uniform(-kLightingMax, kLightingMax), ly = rng.uniform(-kLightingMax, kLightingMax);
  // A cast shadow or a glare band (a pole, an eave, the sun) across part of the crop.
  const bool band = rng.uniform() < kShadowBandProb && !faint;
  const float band_angle = rng.uniform(0.0f, kPi), band_pos = rng.uniform(0.2f, 0.8f) * s;
  const float band_half = rng.uniform(0.1f, 0.3f) * s, band_soft = rng.uniform(0.5f, 3.0f) * unit;
  const float band_gain = rng.uniform() < 0.7f ? rng.uniform(0.5f, 0.8f) : rng.uniform(1.2f, 1.4f);
  const float bnx = std::cos(band_angle), bny = std::sin(band_angle);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      float g = 1.0f + (lx * (x - 0.5f * s) + ly * (y - 0.5f * s)) / s;
      if (band) {
        const float d = std::abs((x + 0.5f - 0.5f * s) * bnx + (y + 0.5f - 0.5f * s) * bny + 0.5f * s - band_pos);
        g *= 1.0f + (band_gain - 1.0f) * std::clamp((band_half - d) / band_soft + 0.5f, 0.0f, 1.0f);
      }
      for (int c = 0; c < 3; ++c) img.at(x, y)[c] *= g;
    }
  // Resolution loss and blur share one budget: an upscaled crop gets at most mild blur.
  const bool low_res = rng.uniform() < kLowResProb * mild;
  if (low_res) lose_resolution(img, rng.uniform(1.3f, kLowResMax), scratch);
  const float blur_max = low_res ? 0.5f * (kBlurSigmaMin + kBlurSigmaMax) : kBlurSigmaMax;
  if (rng.uniform() < kBlurProb) gaussian_blur(img, rng.uniform(kBlurSigmaMin, blur_max) * mild * unit, scratch);
  // Noise stays well under the digit's contrast (signal-to-noise of 3 or more).
  const float noise = std::min(rng.uniform(0.0f, kNoiseSigmaMax) * mild, pal.contrast / 3.0f);
  const float gain = 1.0f + rng.uniform(-kContrastJitter, kContrastJitter);
  const float bias = rng.uniform(-kBrightnessMax, kBrightnessMax);
  const bool jpeg = rng.uniform() < kJpegProb;
  const int quality_min = faint ? (kJpegQualityMin + kJpegQualityMax) / 2 : kJpegQualityMin;
  const int quality = quality_min + static_cast<int>(rng.below(static_cast<uint32_t>(kJpegQualityMax - quality_min + 1)));
  std::vector<unsigned char> bytes(img.px.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    const float v = (img.px[i] + noise * approx_normal(rng) - 0.5f) * gain + 0.5f + bias;
    bytes[i] = static_cast<unsigned char>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
  }
  if (jpeg) jpeg_round_trip(bytes, S, quality);
  for (size_t i = 0; i < bytes.size(); ++i) out[i] = static_cast<float>(bytes[i]) * (1.0f / 255.0f);
  return label;
}

}  // namespace

Result<std::vector<std::string>> housenum_font_files(const HousenumOptions& opt) {
  std::vector<std::string> paths;
  std::vector<std::string> missing;
  std::string packages;
  for (const FontFile& f : kFontFiles) {
    std::string path = font_path(opt.font_dir, f);
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) {
      paths.push_back(std::move(path));
      continue;
    }
    missing.push_back(path);
    if (packages.find(f.package) == std::string::npos) packages += (packages.empty() ? "" : ", ") + std::string(f.package);
  }
  if (missing.empty()) return paths;
  std::string msg = "housenum: font file " + missing.front() + " is missing";
  if (missing.size() > 1) msg += " (and " + std::to_string(missing.size() - 1) + " more)";
  return not_found(msg + "; install the Debian package(s) " + packages +
                   " (scripts/setup.sh installs fonts-dejavu-core, fonts-liberation2 and fonts-freefont-ttf)");
}

Result<Dataset> make_housenum_dataset(DatasetSplit split, int64_t count, uint64_t seed, const HousenumOptions& opt) {
  if (count < 0) return invalid_argument("housenum: count must be >= 0, got " + std::to_string(count));
  const int S = opt.image_size;
  if (S < kHousenumMinImageSize || S > kHousenumMaxImageSize)
    return invalid_argument("housenum: image_size must be in [" + std::to_string(kHousenumMinImageSize) + ", " +
                            std::to_string(kHousenumMaxImageSize) + "], got " + std::to_string(S));
  const int64_t per_image = int64_t{S} * S * 3;
  if (count > (int64_t{1} << 31) / per_image)
    return invalid_argument("housenum: " + std::to_string(count) + " images of " + std::to_string(S) +
                            " pixels exceed the 2^31-float limit");
  SLING_ASSIGN_OR_RETURN(std::shared_ptr<const FontSet> fonts, load_fonts(opt.font_dir));
  Dataset d;
  for (int c = 0; c < 10; ++c) d.class_names.push_back(std::to_string(c));
  d.inputs = Tensor({count, S, S, 3});
  d.labels.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) d.labels[i] = render_image(*fonts, split, seed, i, S, d.inputs.data() + i * per_image);
  return d;
}

}  // namespace slingshot
