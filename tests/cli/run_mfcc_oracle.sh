#!/usr/bin/env bash
# Cross-checks the keyword front end against an independent float64 NumPy rebuild of the
# MLPerf Tiny KWS features (tests/tools/mlperf_mfcc_oracle.py): generated clips (stereo,
# short, long), three of models/keywords/eval, and the real Speech Commands clip in
# ../shared/mlperf-tiny; with that folder, also the int8 input codes of kws_ref_model.tflite.
# Skips (77) without python3-numpy.
set -eu
bin="$1"
features="$2"
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$here/.." && pwd)
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  echo "SKIP: python3-numpy is not installed (apt-get install python3-numpy)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work" <<'PY'
import sys, wave
import numpy as np
out = sys.argv[1]
rng = np.random.RandomState(3)
def write(name, x, channels):
    with wave.open(f"{out}/{name}", "wb") as w:
        w.setnchannels(channels); w.setsampwidth(2); w.setframerate(16000)
        w.writeframes(np.clip(np.round(x * 32768), -32768, 32767).astype("<i2").tobytes())
t = np.arange(16000) / 16000.0
chirp = 0.4 * np.sin(2 * np.pi * (200 + 1500 * t) * t) * np.exp(-((t - 0.5) / 0.2) ** 2)
left, right = chirp + 0.01 * rng.randn(16000), 0.5 * chirp + 0.02 * rng.randn(16000)
write("stereo_chirp.wav", np.stack([left, right], axis=1).reshape(-1), 2)
write("short_tone.wav", 0.3 * np.sin(2 * np.pi * 700 * t[:9600]) + 0.003 * rng.randn(9600), 1)
write("long_noise.wav", 0.05 * rng.randn(20000) + 0.2 * np.sin(2 * np.pi * 300 * np.arange(20000) / 16000.0), 1)
PY
wavs=("$work/stereo_chirp.wav" "$work/short_tone.wav" "$work/long_noise.wav")
for f in keywords_test_00000_down keywords_test_00010__silence_ keywords_test_00023__unknown_; do
  wavs+=("$repo/models/keywords/eval/$f.wav")
done
shared="$repo/../shared/mlperf-tiny"
[ -d "$shared" ] || shared=/work/shared/mlperf-tiny
codes=()
if [ -f "$shared/kws_ref_model.tflite" ]; then
  wavs+=("$shared/marvin_617de221_0.wav")
  for i in "${!wavs[@]}"; do
    "$bin" export-c-header --model "$shared/kws_ref_model.tflite" --input "${wavs[$i]}" -o "$work/codes_$i.h" > /dev/null
    codes+=("$work/codes_$i.h")
  done
else
  echo "note: $shared is absent; the int8 input codes of kws_ref_model.tflite are not checked"
fi
"$features" "$work/ours.npy" "${wavs[@]}"
/usr/bin/python3 "$here/tools/mlperf_mfcc_oracle.py" "$work/ours.npy" "${wavs[@]}" ${codes[@]+--codes "${codes[@]}"}
