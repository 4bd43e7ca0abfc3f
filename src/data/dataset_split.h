// Which part of a generated dataset to make. Generators draw the two splits from
// different random streams (and, for speech, different speakers), so a test sample is
// never a training sample.
#pragma once

#include <string_view>

namespace slingshot {

enum class DatasetSplit {
  kTrain,  // samples for fitting (and a validation split carved from them)
  kTest,   // held-out samples for evaluation
};

inline const char* split_name(DatasetSplit s) { return s == DatasetSplit::kTrain ? "train" : "test"; }

}  // namespace slingshot
