// The generated datasets a recipe names, split into training, validation and test sets.
#include "cli/train_run.h"
#include "data/housenum.h"
#include "data/keywords.h"
#include "data/synthetic_shapes.h"

namespace slingshot::cli {
Result<TrainingData> make_training_data(const RecipeData& spec) {
  TrainingData d;
  if (spec.train < 2 || spec.test < 1) return invalid_argument("a recipe needs >= 2 training and >= 1 test samples");
  if (spec.validation < 0 || spec.validation >= spec.train)
    return invalid_argument("validation samples must be in [0, training samples)");
  if (spec.name == "shapes") {
    if (spec.train > 1'000'000 || spec.test > 1'000'000) return invalid_argument("'shapes' makes at most 1000000 images");
    SLING_ASSIGN_OR_RETURN(d.train, make_shapes_dataset(static_cast<int>(spec.train), spec.image_size, spec.seed));
    // The held-out stream of `slingshot train` since the first release: seed + 1000003.
    SLING_ASSIGN_OR_RETURN(d.test, make_shapes_dataset(static_cast<int>(spec.test), spec.image_size, spec.seed + 1000003));
    d.about = "'shapes' (" + std::to_string(spec.image_size) + "x" + std::to_string(spec.image_size) +
              "x3 strokes: horizontal, vertical, diagonal, ring)";
  } else if (spec.name == "housenum") {
    SLING_ASSIGN_OR_RETURN(d.train, make_housenum_dataset(DatasetSplit::kTrain, spec.train, spec.seed));
    SLING_ASSIGN_OR_RETURN(d.test, make_housenum_dataset(DatasetSplit::kTest, spec.test, spec.seed));
    d.about = "'housenum' (32x32x3 synthetic house-number digits)";
  } else if (spec.name == "keywords") {
    SLING_ASSIGN_OR_RETURN(Dataset train_wav, make_keywords_clips(DatasetSplit::kTrain, spec.train, spec.seed));
    SLING_ASSIGN_OR_RETURN(d.train, keywords_to_mfcc(train_wav));
    SLING_ASSIGN_OR_RETURN(Dataset test_wav, make_keywords_clips(DatasetSplit::kTest, spec.test, spec.seed));
    SLING_ASSIGN_OR_RETURN(d.test, keywords_to_mfcc(test_wav));
    d.about = "'keywords' (49x10 MLPerf MFCCs of synthesized 1 s clips, 12 classes, held-out speakers in test)";
  } else {
    return invalid_argument("unknown dataset '" + spec.name + "' (available: shapes, housenum, keywords)");
  }
  if (spec.validation > 0) {
    const int64_t keep = d.train.size() - spec.validation;
    d.validation = d.train.range(keep, spec.validation);
    d.train = d.train.range(0, keep);
  }
  d.about += ", " + std::to_string(d.train.size()) + " train / " + std::to_string(d.validation.size()) +
             " validation / " + std::to_string(d.test.size()) + " test";
  return d;
}

}  // namespace slingshot::cli
