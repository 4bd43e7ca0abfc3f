// The 12 classes of the MLPerf Tiny keyword-spotting task and how Speech Commands-style
// WAV folders (root/<word>/<clip>.wav) map onto them by folder name, as TFDS
// `speech_commands` (the MLPerf training data) labels its clips.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"

namespace slingshot {

// The class names in the label order of the MLPerf Tiny KWS model (kws_ref_model.tflite,
// trained on TFDS speech_commands, whose ClassLabel is WORDS + [SILENCE, UNKNOWN]):
// down, go, left, no, off, on, right, stop, up, yes, _silence_, _unknown_.
const std::vector<std::string>& kws_class_names();

// The class index of a folder name (case-insensitive; leading and trailing underscores
// ignored): one of the ten keywords -> that keyword; "silence" or "background_noise" ->
// _silence_; anything else ("unknown", or any other spoken word such as "marvin") ->
// _unknown_, as TFDS labels Speech Commands.
int speech_commands_class(std::string_view folder_name);

// A WAV folder (data/wav.h load_wav_folder: one 16 kHz clip per file, padded or cut to
// 16000 samples, channels mixed down) relabeled by folder name onto kws_class_names().
Result<Dataset> load_speech_commands_folder(const std::string& root);

}  // namespace slingshot
