// `housenum`: a generated SVHN-like dataset of colour house-number crops. Each image
// centres one digit (the label) rendered from a Debian TrueType font with a random
// affine pose, colours and contrast, over a flat, gradient or textured background, with
// partly visible neighbour digits at the sides, blur, noise and JPEG artefacts.
// Image i of a split depends only on (seed, split, i), so any prefix or subset of a
// dataset can be regenerated, in any order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/dataset_split.h"

namespace slingshot {

// Accepted range of HousenumOptions::image_size.
constexpr int kHousenumMinImageSize = 16;
constexpr int kHousenumMaxImageSize = 256;

struct HousenumOptions {
  int image_size = 32;                                 // output side (square), in [16, 256]
  std::string font_dir = "/usr/share/fonts/truetype";  // root of the Debian font folders (dejavu/, ...)
};

// `count` images [count, image_size, image_size, 3] in [0, 1] (on the 8-bit grid k / 255),
// labels 0..9 with class names "0".."9". Fonts are read and parsed once per font_dir and
// cached for the process (thread-safe).
Result<Dataset> make_housenum_dataset(DatasetSplit split, int64_t count, uint64_t seed,
                                      const HousenumOptions& opt = {});

// The font files the generator uses, in their fixed order, as full paths; or an error
// naming a missing file and the Debian package that installs it.
Result<std::vector<std::string>> housenum_font_files(const HousenumOptions& opt = {});

}  // namespace slingshot
