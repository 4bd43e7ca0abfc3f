// `shapes`: a small generated image dataset for demos and tests (the zoo's real
// datasets, housenum and keywords, come with the model-zoo work). Each image shows one
// of four strokes (horizontal bar, vertical bar, diagonal, ring) in a random colour,
// position and thickness over a random background with noise, so a classifier must
// learn shape, not colour.
#pragma once

#include <cstdint>

#include "data/dataset.h"

namespace slingshot {

// `count` images of `size` x `size` x 3, deterministic for a seed.
Result<Dataset> make_shapes_dataset(int count, int size, uint64_t seed);

}  // namespace slingshot
