// MLPerf Tiny KWS class list and the Speech Commands folder-name mapping onto it.
#include "data/speech_commands.h"

#include <algorithm>
#include <cctype>

#include "data/wav.h"

namespace slingshot {

const std::vector<std::string>& kws_class_names() {
  static const std::vector<std::string> names = {"down", "go",    "left", "no",  "off",       "on",
                                                 "right", "stop", "up",   "yes", "_silence_", "_unknown_"};
  return names;
}

int speech_commands_class(std::string_view folder_name) {
  std::string key;
  for (char c : folder_name) key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  const size_t first = key.find_first_not_of('_');
  key = first == std::string::npos ? std::string() : key.substr(first, key.find_last_not_of('_') - first + 1);
  const std::vector<std::string>& names = kws_class_names();
  const int silence = 10, unknown = 11;
  if (key == "silence" || key == "background_noise") return silence;
  const auto it = std::find(names.begin(), names.begin() + silence, key);
  return it != names.begin() + silence ? static_cast<int>(it - names.begin()) : unknown;
}

Result<Dataset> load_speech_commands_folder(const std::string& root) {
  SLING_ASSIGN_OR_RETURN(Dataset d, load_wav_folder(root, 16000, 16000));
  std::vector<int> to_kws(d.class_names.size());
  for (size_t c = 0; c < d.class_names.size(); ++c) to_kws[c] = speech_commands_class(d.class_names[c]);
  for (int& label : d.labels) label = to_kws[static_cast<size_t>(label)];
  d.class_names = kws_class_names();
  return d;
}

}  // namespace slingshot
