// PNG plots for reports (the study, sweeps): line plots, heat maps and histograms,
// rendered on the CPU with anti-aliased lines and DejaVu Sans text (Debian's
// fonts-dejavu-core, through stb_truetype), encoded with stb_image_write. Deterministic:
// the same data gives the same bytes, so committed plots only change when numbers do.
#pragma once

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/status.h"

namespace slingshot {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // y NaN: a gap (unfinished or undefined point)
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<PlotSeries> series;
  double y_min = std::numeric_limits<double>::quiet_NaN();  // NaN: from the data
  double y_max = std::numeric_limits<double>::quiet_NaN();
  bool y_percent = false;  // y in [0, 1] shown as 0%..100%
};

struct HeatMap {
  std::string title, row_axis, col_axis;
  std::vector<std::string> row_labels, col_labels;
  std::vector<std::vector<double>> values;  // [row][col]; NaN cells are left blank
  double lo = 0, hi = 1;                    // colour scale
  bool percent = true;                      // annotate cells as percentages
};

struct HistogramSeries {
  std::string name;
  std::vector<double> values;  // non-finite values are skipped
};

struct Histogram {
  std::string title, x_label;
  std::vector<HistogramSeries> series;  // overlaid, each normalized to its own count
  int bins = 30;
};

// Each returns PNG bytes of a width x height image (or an error naming a bad input:
// empty data, mismatched lengths, a missing font).
Result<std::string> render_line_plot(const LinePlot& plot, int width = 800, int height = 480);
Result<std::string> render_heat_map(const HeatMap& map, int width = 720, int height = 560);
Result<std::string> render_histogram(const Histogram& histogram, int width = 800, int height = 440);

}  // namespace slingshot
