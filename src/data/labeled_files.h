// Labelled file sets in the MLPerf Tiny performance-set style: a folder of sample files
// and a `y_labels.csv` whose lines are "file,num_classes,label" (no header), e.g.
// "housenum_test_0007.png,10,3". The committed evaluation sets use it, and so can users'
// own sets (PNG/JPEG images or WAV clips).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"

namespace slingshot {

struct LabeledFile {
  std::string file;     // file name, relative to the CSV's folder
  int num_classes = 0;  // classes of the task (the same on every line)
  int label = 0;        // in [0, num_classes)
};

// Reads a labels CSV. Errors name the line: a wrong field count, a non-integer or
// out-of-range number, a num_classes that changes between lines, a file name that is
// empty, absolute or leaves the folder, or an empty file.
Result<std::vector<LabeledFile>> read_labels_csv(const std::string& csv_path);
// Writes one atomically.
Status write_labels_csv(const std::string& csv_path, const std::vector<LabeledFile>& entries);

// Loads the images of a labels CSV as [N, height, width, channels] in [0, 1] (no
// resizing: each must already have that size). Class names are "0".."K-1".
Result<Dataset> load_labeled_images(const std::string& csv_path, int height, int width, int channels);
// Loads the WAV clips of a labels CSV as [N, samples_per_clip] (zero-padded or cut, as
// load_wav_folder does); every clip must have `sample_rate`.
Result<Dataset> load_labeled_wavs(const std::string& csv_path, int sample_rate, int samples_per_clip);

}  // namespace slingshot
