// PNG plots (see plot.h). Everything is drawn by coverage: a pixel's alpha is how much of
// it a shape covers (distance to a segment for lines and markers, glyph bitmaps for
// text), which gives anti-aliasing without a graphics library.
#include "report/plot.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "core/file_io.h"
#include "data/image_io.h"

// stb_truetype with internal linkage, as in housenum.cpp: each user keeps its own copy.
#define STBTT_STATIC
#define STB_TRUETYPE_IMPLEMENTATION
#include <stb_truetype.h>

namespace slingshot {
namespace {

using Rgb = std::array<uint8_t, 3>;
constexpr Rgb kInk{29, 35, 48}, kMuted{91, 100, 116}, kGrid{225, 228, 234}, kWhite{255, 255, 255};
// Distinct line colours, in the web page's order.
constexpr std::array<Rgb, 8> kPalette{{{47, 111, 222}, {209, 73, 91}, {237, 174, 73}, {0, 121, 140},
                                        {102, 161, 130}, {141, 108, 171}, {224, 122, 31}, {91, 100, 116}}};
constexpr const char* kFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

struct Font {
  std::string bytes;
  stbtt_fontinfo info{};
};

Result<const Font*> plot_font() {
  static std::unique_ptr<Font> font;
  if (font) return font.get();
  auto bytes = read_file(kFontPath, int64_t{16} << 20);
  if (!bytes.ok()) return not_found(std::string("plots need the DejaVu Sans font (Debian fonts-dejavu-core): ") + kFontPath);
  auto f = std::make_unique<Font>();
  f->bytes = std::move(*bytes);
  const auto* data = reinterpret_cast<const unsigned char*>(f->bytes.data());
  if (!stbtt_InitFont(&f->info, data, stbtt_GetFontOffsetForIndex(data, 0)))
    return invalid_argument(std::string("cannot read the font ") + kFontPath);
  font = std::move(f);
  return font.get();
}

// UTF-8 to code points (invalid bytes become '?').
std::vector<int> code_points(const std::string& s) {
  std::vector<int> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (extra < 0 || i + extra >= s.size()) {
      out.push_back('?');
      ++i;
      continue;
    }
    int cp = extra == 0 ? c : c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return out;
}

enum class Align { kLeft, kCenter, kRight };

class Canvas {
 public:
  Canvas(int w, int h, const Font& font) : w_(w), h_(h), font_(font), rgb_(static_cast<size_t>(w) * h * 3, 255) {}

  void blend(int x, int y, Rgb c, double alpha) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_ || alpha <= 0) return;
    alpha = std::min(1.0, alpha);
    uint8_t* p = &rgb_[(static_cast<size_t>(y) * w_ + x) * 3];
    for (int k = 0; k < 3; ++k) p[k] = static_cast<uint8_t>(std::lround(p[k] + (c[k] - p[k]) * alpha));
  }

  void fill_rect(double x0, double y0, double x1, double y1, Rgb c, double alpha = 1) {
    for (int y = static_cast<int>(std::floor(y0)); y < static_cast<int>(std::ceil(y1)); ++y)
      for (int x = static_cast<int>(std::floor(x0)); x < static_cast<int>(std::ceil(x1)); ++x) {
        const double cover = (std::min<double>(x + 1, x1) - std::max<double>(x, x0)) *
                             (std::min<double>(y + 1, y1) - std::max<double>(y, y0));
        blend(x, y, c, alpha * cover);
      }
  }

  // A segment of the given width with round caps.
  void line(double ax, double ay, double bx, double by, double width, Rgb c) {
    const double r = width / 2;
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    const int x0 = static_cast<int>(std::floor(std::min(ax, bx) - r - 1)), x1 = static_cast<int>(std::ceil(std::max(ax, bx) + r + 1));
    const int y0 = static_cast<int>(std::floor(std::min(ay, by) - r - 1)), y1 = static_cast<int>(std::ceil(std::max(ay, by) + r + 1));
    for (int y = std::max(0, y0); y <= std::min(h_ - 1, y1); ++y)
      for (int x = std::max(0, x0); x <= std::min(w_ - 1, x1); ++x) {
        const double px = x + 0.5 - ax, py = y + 0.5 - ay;
        const double t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
        const double d = std::hypot(px - t * dx, py - t * dy);
        blend(x, y, c, std::clamp(r + 0.5 - d, 0.0, 1.0));
      }
  }

  void dot(double x, double y, double radius, Rgb c) { line(x, y, x, y, 2 * radius, c); }

  double text_width(const std::string& s, double size) const {
    const float scale = stbtt_ScaleForPixelHeight(&font_.info, static_cast<float>(size));
    double w = 0;
    for (int cp : code_points(s)) {
      int advance = 0, bearing = 0;
      stbtt_GetCodepointHMetrics(&font_.info, cp, &advance, &bearing);
      w += advance * scale;
    }
    return w;
  }

  // Text with its baseline at y; `vertical` turns it 90 degrees counter-clockwise (for a
  // y-axis label), anchored at (x, y) as the rotated text's baseline start.
  void text(double x, double y, const std::string& s, double size, Rgb c, Align align = Align::kLeft,
            bool vertical = false) {
    const float scale = stbtt_ScaleForPixelHeight(&font_.info, static_cast<float>(size));
    const double width = text_width(s, size);
    double pen = align == Align::kLeft ? 0 : align == Align::kCenter ? -width / 2 : -width;
    for (int cp : code_points(s)) {
      int advance = 0, bearing = 0, gw = 0, gh = 0, gx = 0, gy = 0;
      stbtt_GetCodepointHMetrics(&font_.info, cp, &advance, &bearing);
      const float shift = static_cast<float>(pen - std::floor(pen));
      unsigned char* bitmap =
          stbtt_GetCodepointBitmapSubpixel(&font_.info, scale, scale, shift, 0, cp, &gw, &gh, &gx, &gy);
      for (int j = 0; j < gh; ++j)
        for (int i = 0; i < gw; ++i) {
          const double a = bitmap[j * gw + i] / 255.0;
          const double u = std::floor(pen) + gx + i, v = gy + j;  // glyph pixel relative to the pen
          if (vertical)
            blend(static_cast<int>(std::lround(x + v)), static_cast<int>(std::lround(y - u)), c, a);
          else
            blend(static_cast<int>(std::lround(x + u)), static_cast<int>(std::lround(y + v)), c, a);
        }
      stbtt_FreeBitmap(bitmap, nullptr);
      pen += advance * scale;
    }
  }

  Result<std::string> png() const { return encode_png(rgb_.data(), w_, h_, 3); }
  int width() const { return w_; }
  int height() const { return h_; }

 private:
  int w_, h_;
  const Font& font_;
  std::vector<uint8_t> rgb_;
};

// Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / target, power = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / power < 1.5 ? power : raw / power < 3.5 ? 2 * power : raw / power < 7.5 ? 5 * power : 10 * power;
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

std::string tick_label(double v, bool percent) {
  char buf[32];
  if (percent) {
    std::snprintf(buf, sizeof(buf), "%g%%", std::round(v * 1000) / 10);
  } else {
    std::snprintf(buf, sizeof(buf), "%g", v);
  }
  return buf;
}

Status check_size(int width, int height) {
  if (width < 200 || height < 150 || width > 4000 || height > 4000)
    return invalid_argument("plot size " + std::to_string(width) + "x" + std::to_string(height) + " is outside 200x150..4000x4000");
  return Status::Ok();
}

// The plot area and its axes: maps data to pixels and draws grid, ticks and labels.
struct Frame {
  double left, top, right, bottom;  // pixels
  double x_lo, x_hi, y_lo, y_hi;    // data
  double px(double x) const { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); }
  double py(double y) const { return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top); }

  void draw(Canvas& c, const std::string& title, const std::string& x_label, const std::string& y_label,
            bool y_percent) const {
    for (double t : nice_ticks(y_lo, y_hi)) {
      if (t < y_lo - 1e-12 || t > y_hi + 1e-12) continue;
      c.line(left, py(t), right, py(t), 1, kGrid);
      c.text(left - 8, py(t) + 4, tick_label(t, y_percent), 12, kMuted, Align::kRight);
    }
    for (double t : nice_ticks(x_lo, x_hi)) {
      if (t < x_lo - 1e-12 || t > x_hi + 1e-12) continue;
      c.line(px(t), top, px(t), bottom, 1, kGrid);
      c.text(px(t), bottom + 18, tick_label(t, false), 12, kMuted, Align::kCenter);
    }
    c.line(left, bottom, right, bottom, 1.2, kMuted);
    c.line(left, top, left, bottom, 1.2, kMuted);
    c.text((left + right) / 2, 26, title, 16, kInk, Align::kCenter);
    c.text((left + right) / 2, bottom + 42, x_label, 13, kInk, Align::kCenter);
    c.text(18, (top + bottom) / 2 + c.text_width(y_label, 13) / 2, y_label, 13, kInk, Align::kLeft, true);
  }
};

// A legend box in the top-right corner of the plot area.
void legend(Canvas& c, const Frame& f, const std::vector<std::string>& names) {
  if (names.empty()) return;
  double widest = 0;
  for (const std::string& n : names) widest = std::max(widest, c.text_width(n, 12));
  const double w = widest + 40, h = 18.0 * names.size() + 8, x = f.right - w - 8, y = f.top + 8;
  c.fill_rect(x, y, x + w, y + h, kWhite, 0.9);
  for (size_t i = 0; i < names.size(); ++i) {
    const double row = y + 14 + 18.0 * i;
    c.line(x + 8, row - 4, x + 26, row - 4, 3, kPalette[i % kPalette.size()]);
    c.text(x + 32, row, names[i], 12, kInk);
  }
}

Rgb ramp(double t) {
  static constexpr std::array<Rgb, 5> stops{{{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}}};
  const double x = std::clamp(t, 0.0, 1.0) * (stops.size() - 1);
  const size_t i = std::min(stops.size() - 2, static_cast<size_t>(x));
  Rgb out;
  for (int k = 0; k < 3; ++k) out[k] = static_cast<uint8_t>(std::lround(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * (x - i)));
  return out;
}

}  // namespace

Result<std::string> render_line_plot(const LinePlot& plot, int width, int height) {
  SLING_RETURN_IF_ERROR(check_size(width, height));
  if (plot.series.empty()) return invalid_argument("line plot '" + plot.title + "' has no series");
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const PlotSeries& s : plot.series) {
    if (s.x.size() != s.y.size())
      return invalid_argument("series '" + s.name + "' has " + std::to_string(s.x.size()) + " x values but " +
                              std::to_string(s.y.size()) + " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i])) return invalid_argument("series '" + s.name + "' has a non-finite x value");
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      if (std::isfinite(s.y[i])) {
        y_lo = std::min(y_lo, s.y[i]);
        y_hi = std::max(y_hi, s.y[i]);
      }
    }
  }
  if (!std::isfinite(x_lo)) return invalid_argument("line plot '" + plot.title + "' has no points");
  if (!std::isfinite(y_lo)) y_lo = 0, y_hi = 1;
  if (std::isfinite(plot.y_min)) y_lo = plot.y_min;
  if (std::isfinite(plot.y_max)) y_hi = plot.y_max;
  if (!(x_hi > x_lo)) x_hi = x_lo + 1;
  if (!(y_hi > y_lo)) y_hi = y_lo + 1;
  SLING_ASSIGN_OR_RETURN(const Font* font, plot_font());
  Canvas c(width, height, *font);
  const Frame f{72, 44, width - 24.0, height - 64.0, x_lo, x_hi, y_lo, y_hi};
  f.draw(c, plot.title, plot.x_label, plot.y_label, plot.y_percent);
  std::vector<std::string> names;
  for (size_t k = 0; k < plot.series.size(); ++k) {
    const PlotSeries& s = plot.series[k];
    const Rgb colour = kPalette[k % kPalette.size()];
    for (size_t i = 0; i + 1 < s.x.size(); ++i)
      if (std::isfinite(s.y[i]) && std::isfinite(s.y[i + 1]))
        c.line(f.px(s.x[i]), f.py(s.y[i]), f.px(s.x[i + 1]), f.py(s.y[i + 1]), 2.2, colour);
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) c.dot(f.px(s.x[i]), f.py(s.y[i]), 3.2, colour);
    names.push_back(s.name);
  }
  legend(c, f, names);
  return c.png();
}

Result<std::string> render_heat_map(const HeatMap& map, int width, int height) {
  SLING_RETURN_IF_ERROR(check_size(width, height));
  const size_t rows = map.row_labels.size(), cols = map.col_labels.size();
  if (rows == 0 || cols == 0) return invalid_argument("heat map '" + map.title + "' has no rows or columns");
  if (map.values.size() != rows) return invalid_argument("heat map '" + map.title + "': values and row labels differ in count");
  for (const auto& r : map.values)
    if (r.size() != cols) return invalid_argument("heat map '" + map.title + "': a row's value count differs from the columns");
  if (!(map.hi > map.lo)) return invalid_argument("heat map '" + map.title + "': the colour scale needs hi > lo");
  SLING_ASSIGN_OR_RETURN(const Font* font, plot_font());
  Canvas c(width, height, *font);
  double label_w = 0;
  for (const std::string& l : map.row_labels) label_w = std::max(label_w, c.text_width(l, 13));
  const double left = 40 + label_w, top = 48, right = width - 20.0, bottom = height - 70.0;
  const double cw = (right - left) / cols, ch = (bottom - top) / rows;
  c.text((left + right) / 2, 28, map.title, 16, kInk, Align::kCenter);
  for (size_t r = 0; r < rows; ++r) {
    c.text(left - 8, top + ch * (r + 0.5) + 5, map.row_labels[r], 13, kInk, Align::kRight);
    for (size_t k = 0; k < cols; ++k) {
      const double v = map.values[r][k];
      const double x0 = left + cw * k, y0 = top + ch * r;
      if (!std::isfinite(v)) {
        c.fill_rect(x0 + 1, y0 + 1, x0 + cw - 1, y0 + ch - 1, kGrid);
        c.text(x0 + cw / 2, y0 + ch / 2 + 5, "n/a", 12, kMuted, Align::kCenter);
        continue;
      }
      const double t = (v - map.lo) / (map.hi - map.lo);
      c.fill_rect(x0 + 1, y0 + 1, x0 + cw - 1, y0 + ch - 1, ramp(t));
      c.text(x0 + cw / 2, y0 + ch / 2 + 5, tick_label(map.percent ? std::round(v * 100) / 100 : v, map.percent), 13,
             t > 0.6 ? kInk : kWhite, Align::kCenter);
    }
  }
  for (size_t k = 0; k < cols; ++k) c.text(left + cw * (k + 0.5), bottom + 20, map.col_labels[k], 13, kInk, Align::kCenter);
  c.text((left + right) / 2, bottom + 50, map.col_axis, 13, kMuted, Align::kCenter);
  c.text(16, (top + bottom) / 2 + c.text_width(map.row_axis, 13) / 2, map.row_axis, 13, kMuted, Align::kLeft, true);
  return c.png();
}

Result<std::string> render_histogram(const Histogram& histogram, int width, int height) {
  SLING_RETURN_IF_ERROR(check_size(width, height));
  if (histogram.bins < 1 || histogram.bins > 200)
    return invalid_argument("histogram bins must be in 1..200, got " + std::to_string(histogram.bins));
  double lo = INFINITY, hi = -INFINITY;
  for (const HistogramSeries& s : histogram.series)
    for (double v : s.values)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) return invalid_argument("histogram '" + histogram.title + "' has no finite values");
  if (!(hi > lo)) hi = lo + 1;
  const int bins = histogram.bins;
  std::vector<std::vector<double>> share(histogram.series.size(), std::vector<double>(static_cast<size_t>(bins), 0.0));
  double top_share = 0;
  for (size_t k = 0; k < histogram.series.size(); ++k) {
    int64_t count = 0;
    for (double v : histogram.series[k].values) {
      if (!std::isfinite(v)) continue;
      const int b = std::min(bins - 1, static_cast<int>((v - lo) / (hi - lo) * bins));
      share[k][static_cast<size_t>(b)] += 1;
      ++count;
    }
    for (double& s : share[k]) {
      s = count ? s / static_cast<double>(count) : 0;
      top_share = std::max(top_share, s);
    }
  }
  SLING_ASSIGN_OR_RETURN(const Font* font, plot_font());
  Canvas c(width, height, *font);
  const Frame f{72, 44, width - 24.0, height - 64.0, lo, hi, 0, std::max(0.05, top_share * 1.1)};
  f.draw(c, histogram.title, histogram.x_label, "share of samples", true);
  std::vector<std::string> names;
  const double bw = (hi - lo) / bins;
  for (size_t k = 0; k < histogram.series.size(); ++k) {
    const Rgb colour = kPalette[k % kPalette.size()];
    for (int b = 0; b < bins; ++b) {
      const double s = share[k][static_cast<size_t>(b)];
      const double x0 = f.px(lo + b * bw), x1 = f.px(lo + (b + 1) * bw);
      c.fill_rect(x0, f.py(s), x1, f.bottom, colour, 0.25);
      c.line(x0, f.py(s), x1, f.py(s), 2, colour);  // the step outline
    }
    names.push_back(histogram.series[k].name);
  }
  legend(c, f, names);
  return c.png();
}

}  // namespace slingshot
