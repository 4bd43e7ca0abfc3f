// PNG plots: each kind decodes to the requested size, draws its data where the axes say
// (a line plot's point, a heat map cell's colour order), is deterministic, and names bad
// input. SLING_PLOT_DIR=DIR keeps the rendered plots there for a look.
#include <doctest/doctest.h>

#include <array>
#include <cmath>

#include <cstdlib>

#include "core/file_io.h"
#include "data/image_io.h"
#include "report/plot.h"

using namespace slingshot;

namespace {

Tensor decoded(const Result<std::string>& png) {
  REQUIRE_MESSAGE(png.ok(), png.status().message());
  auto image = decode_image(*png, 3);
  REQUIRE(image.ok());
  return std::move(*image);
}

// Channel values at (x, y) of a decoded [1, H, W, 3] image, 0..255.
std::array<int, 3> pixel(const Tensor& im, int x, int y) {
  const int64_t w = im.dim(2);
  std::array<int, 3> out{};
  for (int k = 0; k < 3; ++k) out[k] = static_cast<int>(std::lround(im[(y * w + x) * 3 + k] * 255));
  return out;
}

}  // namespace

TEST_CASE("plots: a line plot draws its points where the axes put them, deterministically") {
  LinePlot plot;
  plot.title = "robust accuracy";
  plot.x_label = "eps (1/255)";
  plot.y_label = "accuracy";
  plot.y_percent = true;
  plot.y_min = 0;
  plot.y_max = 1;
  plot.series = {{"int8", {0, 4, 8}, {1.0, 0.5, NAN}}, {"float", {0, 4, 8}, {1.0, 0.25, 0.0}}};
  const auto png = render_line_plot(plot, 800, 480);
  const Tensor im = decoded(png);
  CHECK(im.dim(1) == 480);
  CHECK(im.dim(2) == 800);
  // The frame spans x 72..776 for 0..8 and y 416..44 for 0..1: the float series' point
  // (4, 0.25) is at (424, 323) in the second series' colour (209, 73, 91).
  const auto p = pixel(im, 424, 323);
  CHECK(p[0] > 180);
  CHECK(p[1] < 120);
  // The int8 point (8, NaN) is a gap: nothing drawn in the plot area's lower-right corner
  // beyond the grid line colour.
  const auto corner = pixel(im, 770, 400);
  CHECK(corner[0] > 200);
  CHECK(*render_line_plot(plot, 800, 480) == *png);
  if (const char* dir = std::getenv("SLING_PLOT_DIR")) (void)write_file_atomic(std::string(dir) + "/line.png", *png);

  LinePlot bad = plot;
  bad.series[0].y.pop_back();
  CHECK(!render_line_plot(bad).ok());
  CHECK(!render_line_plot(LinePlot{}).ok());
  CHECK(!render_line_plot(plot, 10, 10).ok());
}

TEST_CASE("plots: heat map cells follow the colour scale; histograms normalize each series") {
  HeatMap map;
  map.title = "transfer";
  map.row_labels = {"float", "int8"};
  map.col_labels = {"float", "int8"};
  map.values = {{1.0, 0.2}, {0.0, NAN}};
  map.row_axis = "source";
  map.col_axis = "target";
  const auto heat_png = render_heat_map(map, 720, 560);
  const Tensor im = decoded(heat_png);
  if (const char* dir = std::getenv("SLING_PLOT_DIR")) (void)write_file_atomic(std::string(dir) + "/heat.png", *heat_png);
  CHECK(im.dim(2) == 720);
  // Near the right edge: cell (0, 1) holds 0.2 (dark blue on the scale), cell (1, 1) is
  // n/a (the grid grey, 225).
  const auto dark = pixel(im, 720 - 30, 60);
  const auto blank = pixel(im, 720 - 30, 560 - 80);
  CHECK(dark[0] < 120);
  CHECK(blank[0] == 225);
  map.values[1].pop_back();
  CHECK(!render_heat_map(map).ok());

  Histogram h;
  h.title = "boundary distance";
  h.x_label = "L2";
  h.series = {{"float", {0.1, 0.2, 0.2, 0.3}}, {"int8", {0.5, 0.6, NAN, INFINITY}}};
  h.bins = 5;
  const auto hist_png = render_histogram(h);
  const Tensor hist = decoded(hist_png);
  if (const char* dir = std::getenv("SLING_PLOT_DIR")) (void)write_file_atomic(std::string(dir) + "/hist.png", *hist_png);
  CHECK(hist.dim(1) == 440);
  h.series = {{"empty", {NAN}}};
  CHECK(!render_histogram(h).ok());
}
