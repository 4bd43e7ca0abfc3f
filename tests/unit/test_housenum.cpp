// housenum: determinism per (seed, split, index), shapes and value range, split
// separation, errors (bad arguments, missing and corrupt fonts), and that the centre of
// an image really holds a digit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "data/housenum.h"

using namespace slingshot;

namespace {

bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

// The font-dependent tests skip (with a message) on a machine without the Debian fonts.
bool fonts_missing() {
  auto files = housenum_font_files();
  if (files.ok()) return false;
  MESSAGE("housenum tests skipped: " << files.status().message());
  return true;
}

// The raw bytes of image i, for exact comparisons and set membership.
std::string image_bytes(const Dataset& d, int64_t i) {
  const int64_t n = shape_numel(d.sample_shape());
  return std::string(reinterpret_cast<const char*>(d.inputs.data() + i * n), static_cast<size_t>(n) * sizeof(float));
}

}  // namespace

TEST_CASE("housenum: images depend only on (seed, split, index)") {
  if (fonts_missing()) return;
  auto a = make_housenum_dataset(DatasetSplit::kTrain, 48, 7);
  auto b = make_housenum_dataset(DatasetSplit::kTrain, 48, 7);
  auto prefix = make_housenum_dataset(DatasetSplit::kTrain, 12, 7);
  auto other_seed = make_housenum_dataset(DatasetSplit::kTrain, 12, 8);
  auto other_split = make_housenum_dataset(DatasetSplit::kTest, 12, 7);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(prefix.ok());
  REQUIRE(other_seed.ok());
  REQUIRE(other_split.ok());
  CHECK(a->inputs.storage() == b->inputs.storage());
  CHECK(a->labels == b->labels);
  for (int64_t i = 0; i < 12; ++i) {
    CHECK(image_bytes(*prefix, i) == image_bytes(*a, i));
    CHECK(prefix->labels[i] == a->labels[i]);
    CHECK(image_bytes(*other_seed, i) != image_bytes(*a, i));
    CHECK(image_bytes(*other_split, i) != image_bytes(*a, i));
  }
}

TEST_CASE("housenum: shapes, 8-bit values in [0, 1], balanced labels, other sizes") {
  if (fonts_missing()) return;
  auto d = make_housenum_dataset(DatasetSplit::kTrain, 500, 1);
  REQUIRE(d.ok());
  CHECK(d->inputs.shape() == Shape{500, 32, 32, 3});
  REQUIRE(d->class_names.size() == 10);
  for (int c = 0; c < 10; ++c) CHECK(d->class_names[c] == std::to_string(c));
  bool in_range = true, on_grid = true;
  for (int64_t i = 0; i < d->inputs.numel(); ++i) {
    const float v = d->inputs[i];
    in_range = in_range && v >= 0.0f && v <= 1.0f;
    on_grid = on_grid && std::abs(v * 255.0f - std::round(v * 255.0f)) < 1e-3f;
  }
  CHECK(in_range);
  CHECK(on_grid);
  std::vector<int> per_class(10, 0);
  for (int label : d->labels) {
    REQUIRE(label >= 0);
    REQUIRE(label < 10);
    ++per_class[label];
  }
  // 50 expected per class; every class well represented.
  for (int c = 0; c < 10; ++c) CHECK(per_class[c] >= 25);

  auto small = make_housenum_dataset(DatasetSplit::kTest, 3, 1, HousenumOptions{16});
  REQUIRE(small.ok());
  CHECK(small->inputs.shape() == Shape{3, 16, 16, 3});
  auto big = make_housenum_dataset(DatasetSplit::kTest, 2, 1, HousenumOptions{64});
  REQUIRE(big.ok());
  CHECK(big->inputs.shape() == Shape{2, 64, 64, 3});
  auto none = make_housenum_dataset(DatasetSplit::kTest, 0, 1);
  REQUIRE(none.ok());
  CHECK(none->size() == 0);
}

TEST_CASE("housenum: the test split repeats no training image") {
  if (fonts_missing()) return;
  auto train = make_housenum_dataset(DatasetSplit::kTrain, 500, 3);
  auto test = make_housenum_dataset(DatasetSplit::kTest, 500, 3);
  REQUIRE(train.ok());
  REQUIRE(test.ok());
  std::set<std::string> seen;
  for (int64_t i = 0; i < 500; ++i) seen.insert(image_bytes(*train, i));
  CHECK(seen.size() == 500);
  int shared = 0;
  for (int64_t i = 0; i < 500; ++i) shared += seen.count(image_bytes(*test, i)) ? 1 : 0;
  CHECK(shared == 0);
}

TEST_CASE("housenum: the centre holds a digit that stands out from the background") {
  if (fonts_missing()) return;
  const int n = 300, S = 32;
  auto d = make_housenum_dataset(DatasetSplit::kTrain, n, 11);
  REQUIRE(d.ok());
  auto lum = [&](int64_t i, int x, int y) {
    const float* p = d->inputs.data() + ((i * S + y) * S + x) * 3;
    return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
  };
  // Spread of luminance in the central 12x12 (where the digit's strokes are) against a
  // 6x6 corner patch of the same image (usually background, sometimes a neighbour).
  double centre_sum = 0, corner_sum = 0;
  int visible = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto spread = [&](int x0, int y0, int side) {
      double s = 0, s2 = 0;
      for (int y = y0; y < y0 + side; ++y)
        for (int x = x0; x < x0 + side; ++x) {
          const double v = lum(i, x, y);
          s += v, s2 += v * v;
        }
      const double m = s / (side * side);
      return std::sqrt(std::max(0.0, s2 / (side * side) - m * m));
    };
    const double centre = spread(10, 10, 12);
    const double corner = std::min(spread(0, 0, 6), spread(S - 6, S - 6, 6));
    centre_sum += centre;
    corner_sum += corner;
    visible += centre > 0.03 ? 1 : 0;
  }
  CHECK(centre_sum / n > 0.08);
  CHECK(centre_sum > 2.5 * corner_sum);
  CHECK(visible >= n * 95 / 100);

  // Images of one class are all different (style varies, not just noise).
  for (int c = 0; c < 10; ++c) {
    std::set<std::string> same_class;
    int members = 0;
    for (int64_t i = 0; i < n; ++i)
      if (d->labels[i] == c) ++members, same_class.insert(image_bytes(*d, i));
    CHECK(static_cast<int>(same_class.size()) == members);
  }
}

TEST_CASE("housenum: bad arguments and missing or corrupt fonts are errors") {
  auto negative = make_housenum_dataset(DatasetSplit::kTrain, -1, 0);
  CHECK(contains(negative.status(), "count must be >= 0"));
  auto tiny = make_housenum_dataset(DatasetSplit::kTrain, 4, 0, HousenumOptions{8});
  CHECK(contains(tiny.status(), "image_size must be in [16, 256]"));
  auto huge = make_housenum_dataset(DatasetSplit::kTrain, 4, 0, HousenumOptions{100000});
  CHECK(contains(huge.status(), "image_size"));
  auto too_many = make_housenum_dataset(DatasetSplit::kTrain, int64_t{1} << 40, 0);
  CHECK(contains(too_many.status(), "exceed"));

  HousenumOptions nowhere;
  nowhere.font_dir = "slingshot_test_no_such_font_dir";
  auto files = housenum_font_files(nowhere);
  REQUIRE_FALSE(files.ok());
  for (const char* package : {"fonts-dejavu-core", "fonts-liberation2", "fonts-freefont-ttf"})
    CHECK(contains(files.status(), package));
  auto data = make_housenum_dataset(DatasetSplit::kTrain, 4, 0, nowhere);
  REQUIRE_FALSE(data.ok());
  CHECK(contains(data.status(), "fonts-dejavu-core"));

  // A font folder with every file but one: the error names that file and its package only.
  namespace fs = std::filesystem;
  const std::string dir = "slingshot_test_housenum_fonts";
  std::error_code ec;
  fs::remove_all(dir, ec);
  auto real = housenum_font_files();
  if (!real.ok()) return;  // the rest needs the real file names
  const std::string root = HousenumOptions{}.font_dir + "/";
  std::vector<std::string> names;
  for (const std::string& p : *real) names.push_back(p.substr(root.size()));
  for (size_t k = 0; k + 1 < names.size(); ++k) {
    fs::create_directories(fs::path(dir + "/" + names[k]).parent_path(), ec);
    REQUIRE(write_file_atomic(dir + "/" + names[k], "not a font").ok());
  }
  HousenumOptions partial;
  partial.font_dir = dir;
  auto one_missing = housenum_font_files(partial);
  REQUIRE_FALSE(one_missing.ok());
  CHECK(contains(one_missing.status(), names.back()));
  CHECK(contains(one_missing.status(), "fonts-liberation2"));
  CHECK_FALSE(contains(one_missing.status(), "package(s) fonts-dejavu-core"));

  // All present but garbage: a clean error, no crash. Then a truncated real font.
  REQUIRE(write_file_atomic(dir + "/" + names.back(), "not a font either").ok());
  CHECK(housenum_font_files(partial).ok());
  auto garbage = make_housenum_dataset(DatasetSplit::kTrain, 2, 0, partial);
  REQUIRE_FALSE(garbage.ok());
  CHECK(contains(garbage.status(), "corrupt font"));
  CHECK(contains(garbage.status(), names.front()));
  auto font = read_file(real->front(), int64_t{64} << 20);
  REQUIRE(font.ok());
  for (size_t cut : {size_t{11}, size_t{200}, font->size() / 2}) {
    REQUIRE(write_file_atomic(dir + "/" + names.front(), font->substr(0, cut)).ok());
    auto truncated = make_housenum_dataset(DatasetSplit::kTrain, 2, 0, partial);
    REQUIRE_FALSE(truncated.ok());
    CHECK(contains(truncated.status(), "corrupt font"));
  }
  fs::remove_all(dir, ec);
}

TEST_CASE("housenum: font list is fixed, sorted and complete") {
  if (fonts_missing()) return;
  auto files = housenum_font_files();
  REQUIRE(files.ok());
  CHECK(files->size() == 30);
  CHECK(std::is_sorted(files->begin(), files->end()));
  CHECK(files->front() == "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf");
  // fonts-dejavu-extra (present on some machines) must not change the list.
  for (const std::string& f : *files) CHECK(f.find("ExtraLight") == std::string::npos);
  for (const std::string& f : *files) CHECK(f.find("Condensed") == std::string::npos);
}
