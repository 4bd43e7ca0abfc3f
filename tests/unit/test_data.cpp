// Data in and out: .npy and image files (including hostile ones), the generated shapes
// set, and the trainer learning it.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "core/file_io.h"
#include "data/image_io.h"
#include "data/npy.h"
#include "data/synthetic_shapes.h"
#include "model/builders.h"
#include "train/trainer.h"

using namespace slingshot;

namespace {

bool contains(const Status& s, const std::string& text) { return s.message().find(text) != std::string::npos; }

std::string temp_path(const std::string& name) { return "slingshot_test_" + name; }

// A PNG signature and IHDR chunk claiming the given size; no pixel data.
std::string png_header(uint32_t w, uint32_t h) {
  std::string s("\x89PNG\r\n\x1a\n", 8);
  const unsigned char ihdr[] = {0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                static_cast<unsigned char>(w >> 24), static_cast<unsigned char>(w >> 16),
                                static_cast<unsigned char>(w >> 8), static_cast<unsigned char>(w),
                                static_cast<unsigned char>(h >> 24), static_cast<unsigned char>(h >> 16),
                                static_cast<unsigned char>(h >> 8), static_cast<unsigned char>(h),
                                8, 2, 0, 0, 0, 0, 0, 0, 0};
  s.append(reinterpret_cast<const char*>(ihdr), sizeof(ihdr));
  return s;
}

}  // namespace

TEST_CASE("npy round trip and rejection of other formats") {
  Tensor t({2, 3, 1});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = 0.25f * static_cast<float>(i) - 1.0f;
  auto back = parse_npy(serialize_npy(t));
  REQUIRE(back.ok());
  CHECK(back->shape() == t.shape());
  CHECK(back->storage() == t.storage());
  // Data starts on a 64-byte boundary, as NumPy writes it.
  CHECK((serialize_npy(t).size() - 24) % 64 == 0);

  std::string f64 = serialize_npy(t);
  f64.replace(f64.find("<f4"), 3, "<f8");
  CHECK(contains(parse_npy(f64).status(), "got '<f8'"));
  std::string fortran = serialize_npy(t);
  fortran.replace(fortran.find("False"), 5, "True ");
  CHECK(contains(parse_npy(fortran).status(), "Fortran order"));
  std::string truncated = serialize_npy(t);
  truncated.resize(truncated.size() - 4);
  CHECK(contains(parse_npy(truncated).status(), "needs 24"));
  CHECK(contains(parse_npy("hello world").status(), "magic"));
  std::string long_header = serialize_npy(t).substr(0, 10);
  long_header[8] = '\xff';
  CHECK(contains(parse_npy(long_header).status(), "past the end"));
  std::string bad_shape = serialize_npy(t);
  bad_shape.replace(bad_shape.find("(2,"), 3, "(x,");
  CHECK(contains(parse_npy(bad_shape).status(), "shape contains 'x'"));
  // Scalars and 1-D arrays use NumPy's tuple spelling.
  Tensor v({3}, std::vector<float>{1, 2, 3});
  CHECK(serialize_npy(v).find("'shape': (3,)") != std::string::npos);
  CHECK(parse_npy(serialize_npy(v))->shape() == Shape{3});
}

TEST_CASE("image decoding rejects garbage and oversized images before decoding") {
  CHECK(contains(decode_image("not an image").status(), "not a readable image"));
  CHECK(contains(decode_image("").status(), "not a readable image"));
  const auto huge = decode_image(png_header(10000, 10000));
  REQUIRE_FALSE(huge.ok());
  CHECK(contains(huge.status(), "10000x10000; the limit is 8192"));
  CHECK(contains(decode_image(png_header(8, 8)).status(), "decoding failed"));
  CHECK(contains(decode_image("x", 2).status(), "channels must be"));
  CHECK(load_image("/nonexistent/slingshot.png").status().code() == StatusCode::kNotFound);
}

TEST_CASE("PNG writing and reading round-trip 8-bit images exactly") {
  auto data = make_shapes_dataset(1, 12, 5);
  REQUIRE(data.ok());
  const std::string path = temp_path("roundtrip.png");
  REQUIRE(save_png(data->inputs, path).ok());
  auto back = load_image(path, 3);
  REQUIRE(back.ok());
  CHECK(back->shape() == Shape{1, 12, 12, 3});
  CHECK(back->storage() == data->inputs.storage());
  auto gray = load_image(path, 1);
  REQUIRE(gray.ok());
  CHECK(gray->shape() == Shape{1, 12, 12, 1});
  std::remove(path.c_str());
  CHECK_FALSE(save_png(Tensor({2, 4, 4, 3}), path).ok());
}

TEST_CASE("atomic writes replace the target and leave no temporary file") {
  const std::string path = temp_path("atomic.bin");
  REQUIRE(write_file_atomic(path, "first").ok());
  REQUIRE(write_file_atomic(path, "second").ok());
  auto bytes = read_file(path, 100);
  REQUIRE(bytes.ok());
  CHECK(*bytes == "second");
  CHECK(contains(read_file(path, 3).status(), "limit is 3"));
  CHECK_FALSE(write_file_atomic("/nonexistent-dir/x.bin", "x").ok());
  std::remove(path.c_str());
}

TEST_CASE("the shapes dataset is deterministic, balanced and on the 8-bit grid") {
  auto a = make_shapes_dataset(400, 16, 42);
  auto b = make_shapes_dataset(400, 16, 42);
  auto c = make_shapes_dataset(400, 16, 43);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->inputs.storage() == b->inputs.storage());
  CHECK(a->labels == b->labels);
  CHECK(a->inputs.storage() != c->inputs.storage());
  int counts[4] = {0, 0, 0, 0};
  for (int l : a->labels) counts[l]++;
  for (int k = 0; k < 4; ++k) CHECK(counts[k] > 60);
  for (int64_t i = 0; i < a->inputs.numel(); ++i) {
    const float v = a->inputs[i] * 255.0f;
    REQUIRE(v == std::round(v));
  }
  CHECK_FALSE(make_shapes_dataset(0, 16, 1).ok());
  CHECK_FALSE(make_shapes_dataset(10, 4, 1).ok());
}

TEST_CASE("SGD trains a tiny CNN on shapes well above chance") {
  auto train_set = make_shapes_dataset(1600, 16, 1);
  auto test_set = make_shapes_dataset(200, 16, 2);
  REQUIRE(train_set.ok());
  REQUIRE(test_set.ok());
  auto g = build_tiny_cnn(4, {16, 16, 3});
  REQUIRE(g.ok());
  init_params(*g, 3);
  auto before = evaluate_accuracy(*g, *test_set);
  REQUIRE(before.ok());
  TrainConfig cfg;
  cfg.epochs = 6;
  cfg.seed = 4;
  int steps = 0;
  auto reports = train(*g, *train_set, test_set.operator->(), cfg, [&](int, int, int, double, double) {
    ++steps;
    return true;
  });
  REQUIRE(reports.ok());
  CHECK(reports->size() == 6);
  CHECK(steps == 6 * 50);
  CHECK(reports->back().train_loss < reports->front().train_loss);
  // Chance is 0.25; a working trainer reaches > 0.8 here (0.875-0.985 over seeds 1-5).
  CHECK(reports->back().val_accuracy > 0.8);
  CHECK(reports->back().val_accuracy > *before + 0.3);

  auto wrong = build_tiny_cnn(4, {8, 8, 3});
  REQUIRE(wrong.ok());
  auto mismatch = train(*wrong, *train_set, nullptr, cfg);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(contains(mismatch.status(), "samples are [16, 16, 3] but the model expects [8, 8, 3]"));
  TrainConfig bad = cfg;
  bad.learning_rate = -1;
  CHECK_FALSE(train(*g, *train_set, nullptr, bad).ok());
}
